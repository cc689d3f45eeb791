from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin import apps as admin_apps


class AuraSiteConfig(AppConfig):
    name = "aura_site"
    verbose_name = "Aura site"

    def ready(self) -> None:
        from aura_site import (
            checks,  # noqa: F401  (registers the system checks)
            logs,
            tracing,
        )
        from aura_site.dashboard.work import register_panels

        logs.configure_temporal_loggers(settings.AURA_LOG_FORMAT)
        # Before the web handler loads its middleware and before any connection is opened.
        tracing.configure_from_settings()
        register_panels()


class AuraAdminConfig(admin_apps.AdminConfig):
    """The admin app, its default site the one with the operator dashboard."""

    default = False  # named in INSTALLED_APPS; aura_site's own config stays the default here
    default_site = "aura_site.dashboard.site.AuraAdminSite"
