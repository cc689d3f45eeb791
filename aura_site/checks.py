"""System checks for Aura's configuration (`manage.py check`)."""

from django.core.checks import Error, register

from aura_site.temporal import settings_tls


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
