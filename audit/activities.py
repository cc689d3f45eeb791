"""The audit activities and the trail they write to, set once per worker process."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from audit.events import AuditEvent, AuditTrail

UNINITIALIZED_MESSAGE = (
    "AuditTrail not initialized \u2014 call init_audit_trail() before starting worker. "
    "Inject a concrete AuditTrail (e.g. InMemoryAuditTrail()) via init_audit_trail() in your "
    "worker startup code."
)

_trail: AuditTrail | None = None


def init_audit_trail(trail: AuditTrail | None) -> None:
    """Set (or replace) the trail the audit activities write to; None uninitialises it."""
    global _trail
    _trail = trail


def require_trail() -> AuditTrail:
    """Return the worker's trail; a non-retryable error (the seed's message) without one."""
    if _trail is None:
        raise ApplicationError(UNINITIALIZED_MESSAGE, non_retryable=True)
    return _trail


@activity.defn
async def record_audit_event(event: AuditEvent) -> None:
    await require_trail().record_event(event)


@activity.defn
async def query_audit_events(
    epoch_id: str, phase: str | None = None, role: str | None = None
) -> list[AuditEvent]:
    return await require_trail().query_events(epoch_id=epoch_id, phase=phase, role=role)
