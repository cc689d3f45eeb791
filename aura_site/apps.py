from django.apps import AppConfig
from django.conf import settings


class AuraSiteConfig(AppConfig):
    name = "aura_site"
    verbose_name = "Aura site"

    def ready(self) -> None:
        from aura_site import (
            checks,  # noqa: F401  (registers the system checks)
            logs,
            tracing,
        )

        logs.configure_temporal_loggers(settings.AURA_LOG_FORMAT)
        # Before the web handler loads its middleware and before any connection is opened.
        tracing.configure_from_settings()
