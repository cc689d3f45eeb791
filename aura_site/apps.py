from django.apps import AppConfig


class AuraSiteConfig(AppConfig):
    name = "aura_site"
    verbose_name = "Aura site"

    def ready(self) -> None:
        from aura_site import (
            checks,  # noqa: F401  (registers the system checks)
            tracing,
        )

        # Before the web handler loads its middleware and before any connection is opened.
        tracing.configure_from_settings()
