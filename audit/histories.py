"""Audit scenario of the history corpus (`manage.py record_histories --only audit`).

The `temporal` trail keeps an epoch's events in an `AuditLogWorkflow`; with a low history
threshold it continues as new while events arrive, so the corpus holds a run that ended with
continue-as-new and the run that took its events over (terminated once recorded).
"""

from django.conf import settings

from audit.events import AuditEvent
from audit.trails import TemporalAuditTrail
from audit.workflows import audit_workflow_id
from aura_site.temporal import get_client, run_sync
from workers.histories import scenario

EPOCH_ID = "epoch-audit-log"


async def _record_and_close(trail: TemporalAuditTrail, events: list[AuditEvent]) -> str:
    for event in events:
        await trail.record_event(event)
    handle = (await get_client()).get_workflow_handle(audit_workflow_id(EPOCH_ID))
    await handle.terminate(reason="history scenario recorded")
    return handle.id


@scenario("audit", "audit-log")
def audit_log() -> str:
    """Eight events appended by update-with-start, over a continue-as-new."""
    trail = TemporalAuditTrail(settings.TEMPORAL_TASK_QUEUE, history_threshold=20)
    events = [
        AuditEvent(EPOCH_ID, "phase_transition", f"p{n}", "epoch", {"to": f"p{n}"})
        for n in range(2, 10)
    ]
    return run_sync(_record_and_close(trail, events))
