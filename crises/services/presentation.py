"""How a crisis is shown: its counts, its result and its place in the Temporal Web UI."""

from typing import Any
from urllib.parse import quote

from django.conf import settings

from crises.models import Crisis, CrisisStatus, PhaseStatus


def summary(crisis: Crisis) -> dict[str, int]:
    """Return the phase counts (from prefetched phases when the query made them)."""
    return summary_of([phase.status for phase in crisis.phases.all()])


def summary_of(statuses: list[str]) -> dict[str, int]:
    """Return the phase counts of these phase statuses."""
    return {
        "completed_phases": statuses.count(PhaseStatus.COMPLETED),
        "failed_phases": statuses.count(PhaseStatus.FAILED),
        "total_phases": len(statuses),
    }


def _cancel_note(crisis: Crisis) -> str | None:
    if crisis.status != CrisisStatus.CANCELLED:
        return None
    return (
        f"cancelled by {crisis.cancel_requested_by}" if crisis.cancel_requested_by else "cancelled"
    )


def as_result(crisis: Crisis) -> dict[str, Any]:
    """Return a finished crisis as the workflow's result dict (`CrisisResult`'s five keys)."""
    failed = [phase.phase_id for phase in crisis.phases.all() if phase.status == "failed"]
    return {
        "success": crisis.status == CrisisStatus.COMPLETED,
        "crisis_id": crisis.crisis_id,
        "completed_phases": summary(crisis)["completed_phases"],
        "failed_phases": failed or None,
        "error": crisis.error or _cancel_note(crisis),
    }


def temporal_ui_url(crisis: Crisis) -> str:
    """Return the crisis's workflow in the Temporal Web UI."""
    return workflow_ui_url(crisis.workflow_id)


def workflow_ui_url(workflow_id: str) -> str:
    """Return a workflow's page in the Temporal Web UI."""
    return (
        f"{settings.TEMPORAL_UI_URL.rstrip('/')}/namespaces/"
        f"{quote(settings.TEMPORAL_NAMESPACE)}/workflows/{quote(workflow_id)}"
    )
