"""The audit panel of the admin dashboard: the hash chain's last verification."""

from django.http import HttpRequest

from audit.models import AuditVerification
from aura_site.dashboard.panels import Panel, register


def _chain(request: HttpRequest) -> dict:
    return {"verification": AuditVerification.objects.first()}


def register_panels() -> None:
    """Put the audit chain panel on the dashboard."""
    register(
        Panel(
            "audit-chain",
            "Audit chain",
            "admin/dashboard/audit_chain.html",
            ("audit.view_auditevent",),
            _chain,
            90,
        )
    )
