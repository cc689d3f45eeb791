"""System checks of the audit trail's configuration (`manage.py check`)."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from audit.trails import BACKEND_CHOICES, make_audit_trail


@register()
def check_audit_trail(app_configs: Any, **kwargs: Any) -> list[Error]:
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
