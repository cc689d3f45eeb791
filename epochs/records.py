"""What the epoch activities write: idempotent upserts keyed by what the workflow numbered."""

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from epochs.inputs import (
    PhaseAdvanceSignal,
    RecordBlockerInput,
    RecordRequestInput,
    RecordSessionInput,
    RecordSliceInput,
    RecordTransitionInput,
    RecordVoteInput,
)
from epochs.models import Epoch, EpochBlocker, EpochSession, EpochSlice, EpochTransition, EpochVote
from epochs.protocol import PHASE_DOMAIN, PhaseId


def _epoch_row(epoch_id: str) -> Epoch:
    """Return the epoch's row, creating it for a workflow started outside the services."""
    epoch, _ = Epoch.objects.get_or_create(epoch_id=epoch_id)
    return epoch


def _upsert(
    model: type[models.Model],
    keys: dict[str, Any],
    fields: dict[str, Any],
    insert_only: dict[str, Any] | None = None,
) -> None:
    """Insert the row with `keys`, or update its `fields` if it exists: one statement, so a
    retried activity rewrites the same row. `insert_only` values are kept from the first write.
    """
    model.objects.bulk_create(
        [model(**keys, **fields, **(insert_only or {}))],
        update_conflicts=True,
        unique_fields=list(keys),
        update_fields=list(fields),
    )


def save_transition(data: RecordTransitionInput) -> None:
    """Store one history row (success or refused) and the epoch's resulting phase."""
    epoch = _epoch_row(data.epoch_id)
    record = data.record
    _upsert(
        EpochTransition,
        {"epoch": epoch, "index": data.index},
        {
            "from_phase": record.from_phase,
            "to_phase": record.to_phase,
            "triggered_by": record.triggered_by,
            "actor": data.actor,
            "condition_met": record.condition_met,
            "success": record.success,
            "occurred_at": record.timestamp,
        },
    )
    domain = PHASE_DOMAIN.get(PhaseId(data.current_phase))
    complete = data.current_phase == PhaseId.Complete
    # An operator's cancel closes the record at once: a move recorded late does not reopen it.
    Epoch.objects.filter(pk=epoch.pk).exclude(status=Epoch.Status.CANCELLED).update(
        current_phase=data.current_phase,
        domain=domain.value if domain else "",
        status=Epoch.Status.COMPLETE if complete else Epoch.Status.RUNNING,
        blocker_count=data.blocker_count,
        last_error=data.last_error or "",
        completed_at=record.timestamp if complete else None,
        updated_at=timezone.now(),
    )


def save_request(data: RecordRequestInput) -> None:
    """Store a processed request's history row and vote, together or not at all."""
    with transaction.atomic():
        if data.transition is not None:
            save_transition(data.transition)
        if data.vote is not None:
            save_vote(data.vote)


def save_refused_advance(
    epoch: Epoch, request: PhaseAdvanceSignal, violations: list[str]
) -> EpochTransition:
    """Keep an advance the workflow refused before taking it (it never reached the history)."""
    return EpochTransition.objects.create(
        epoch=epoch,
        from_phase=epoch.current_phase,
        to_phase=request.to_phase,
        triggered_by=request.triggered_by,
        actor=request.actor,
        condition_met=request.condition_met,
        success=False,
        error="; ".join(violations),
        occurred_at=timezone.now(),
    )


def save_vote(data: RecordVoteInput) -> None:
    """Store the epoch's vote number `sequence` (once)."""
    _upsert(
        EpochVote,
        {"epoch": _epoch_row(data.epoch_id), "sequence": data.sequence},
        {
            "phase": data.phase,
            "cycle": data.cycle,
            "axis": data.axis,
            "vote": data.vote,
            "reviewer_id": data.reviewer_id,
            "actor": data.actor,
            "recorded_at": data.timestamp,
        },
    )


def save_blocker(data: RecordBlockerInput) -> None:
    """Store a finding's state and the epoch's BLOCKER count."""
    epoch = _epoch_row(data.epoch_id)
    finding = data.blocker
    fields: dict[str, Any] = {
        "severity": finding.severity,
        "resolved": finding.resolved,
        "resolved_at": data.timestamp if finding.resolved else None,
    }
    origin = {
        "description": finding.description,
        "reported_by": finding.reported_by,
        "phase": data.phase,
        "created_at": data.timestamp,
    }
    if finding.resolved:
        _upsert(EpochBlocker, {"epoch": epoch, "blocker_id": finding.blocker_id}, fields, origin)
    else:  # re-opened: it is a new finding with the same id
        _upsert(EpochBlocker, {"epoch": epoch, "blocker_id": finding.blocker_id}, fields | origin)
    Epoch.objects.filter(pk=epoch.pk).update(
        blocker_count=data.blocker_count, updated_at=timezone.now()
    )


def save_slice(data: RecordSliceInput) -> None:
    """Store a slice's state, output capped by the activity that produced it."""
    record = data.slice
    _upsert(
        EpochSlice,
        {"epoch": _epoch_row(data.epoch_id), "slice_id": record.slice_id},
        {
            "mode": record.mode,
            "command": record.command,
            "status": record.status,
            "workflow_id": record.workflow_id,
            "output": record.output,
            "error": record.error,
            "submitted_by": record.submitted_by,
            "updated_at": data.timestamp,
        },
        {"created_at": data.timestamp},
    )


def save_session(data: RecordSessionInput) -> None:
    """Store an agent session; the first registration of an id wins."""
    session = data.session
    EpochSession.objects.get_or_create(
        epoch=_epoch_row(data.epoch_id),
        session_id=session.session_id,
        defaults={
            "role": session.role,
            "model_harness": session.model_harness,
            "model": session.model,
            "registered_at": data.timestamp,
        },
    )
