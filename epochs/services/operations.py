"""Operator actions on an epoch: cancel it, or terminate a stuck one.

The EpochWorkflow writes no record when it is cancelled or terminated, so the service closes
the record itself once Temporal has taken the request: `cancelled` or `failed`, with the actor
and reason in the audit trail.
"""

from temporalio.service import RPCError

from aura_site.runs import executions, outbox
from aura_site.temporal import TemporalUnavailable, run_sync
from epochs.exceptions import EpochNotRunning
from epochs.models import Epoch
from epochs.services.moves import OPEN_STATUSES, close_unfinished


def cancel_epoch(epoch: Epoch, *, actor: str, reason: str = "") -> Epoch:
    """Cancel the epoch's workflow (its slices and review rounds with it); record it cancelled.

    Raises:
        EpochNotRunning: the epoch has already ended.
        TemporalUnavailable: Temporal cannot be reached (nothing changed).
    """
    note = executions.operator_note("cancelled", actor=actor, reason=reason)
    return _end(
        epoch, note, actor=actor, reason=reason, terminate=False, status=Epoch.Status.CANCELLED
    )


def terminate_epoch(epoch: Epoch, *, actor: str, reason: str) -> Epoch:
    """Terminate the epoch's workflow at once (no cleanup); record it failed with the reason.

    Raises:
        DomainError: no reason was given.
        EpochNotRunning: the epoch has already ended.
        TemporalUnavailable: Temporal cannot be reached (nothing changed).
    """
    reason = executions.termination_reason(reason)
    note = executions.operator_note("terminated", actor=actor, reason=reason)
    return _end(
        epoch, note, actor=actor, reason=reason, terminate=True, status=Epoch.Status.FAILED
    )


def _end(
    epoch: Epoch, note: str, *, actor: str, reason: str, terminate: bool, status: str
) -> Epoch:
    epoch.refresh_from_db()
    if epoch.status not in OPEN_STATUSES:
        raise EpochNotRunning(
            f"Epoch {epoch.epoch_id} has already ended ({epoch.get_status_display()})."
        )
    intent = outbox.intent_for(epoch.epoch_id)
    pending = intent is not None and intent.is_pending
    found = False
    if not pending:
        stop = executions.terminate_execution if terminate else executions.cancel_execution
        try:
            found = run_sync(stop(epoch.epoch_id, note))
        except RPCError as exc:
            raise TemporalUnavailable(f"Temporal refused the request: {exc.message}") from exc
    close_unfinished(
        epoch,
        note,
        status=status,
        event_type="epoch_terminated" if terminate else "epoch_cancelled",
        actor=actor,
        reason=reason,
        workflow_found=found,
    )
    if pending:
        # Never started: giving the start up is enough. The record is closed already, so the
        # outbox's own "could not start" close finds nothing left to do.
        outbox.fail(intent, note)
    return epoch
