"""System checks for Aura's configuration (`manage.py check`)."""

from django.conf import settings
from django.core.checks import Error, register

from audit.trails import BACKEND_CHOICES, make_audit_trail
from aura_site.temporal import settings_tls


@register()
def check_audit_trail(app_configs, **kwargs) -> list[Error]:
    try:
        make_audit_trail(settings.AURA_AUDIT_TRAIL)
    except ValueError as exc:
        return [
            Error(
                str(exc),
                hint=f"Set AURA_AUDIT_TRAIL to one of {', '.join(BACKEND_CHOICES)}.",
                id="aura.E001",
            )
        ]
    return []


@register()
def check_temporal_tls(app_configs, **kwargs) -> list[Error]:
    try:
        settings_tls()
    except (ValueError, OSError) as exc:
        return [
            Error(
                f"Temporal TLS settings are unusable: {exc}",
                hint="TEMPORAL_TLS_CERT/KEY/CA take a PEM file path or the PEM text itself.",
                id="aura.E002",
            )
        ]
    return []
