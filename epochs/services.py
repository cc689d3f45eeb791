"""Epoch operations shared by the REST API, the admin, `aura_msg` and the activities.

Requests to a running epoch go through the EpochWorkflow's validated updates, so a refused move
comes back at once with the protocol's messages and changes nothing. Rows are written by the
activities (`save_*` below), idempotently, keyed by what the workflow numbered.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from audit.services import record_event, user_actor
from aura_site.temporal import TemporalUnavailable, get_client, run_sync
from epochs import conf
from epochs.exceptions import EpochExists, EpochNotRunning, MoveRefused, SliceCommandsDisabled
from epochs.inputs import (
    BlockerSignal,
    EpochInput,
    EpochSnapshot,
    PhaseAdvanceSignal,
    RecordBlockerInput,
    RecordSessionInput,
    RecordSliceInput,
    RecordTransitionInput,
    RecordVoteInput,
    ReviewVoteSignal,
    SessionRegisterSignal,
    SliceSubmission,
)
from epochs.models import Epoch, EpochBlocker, EpochSession, EpochSlice, EpochTransition, EpochVote
from epochs.protocol import PHASE_DOMAIN, PHASE_SPECS, PhaseId, SliceMode
from epochs.workflows import REFUSED, EpochWorkflow

SUBJECT_KIND = "epoch"


def new_epoch_id() -> str:
    """Return a fresh epoch id, e.g. `epoch-3f2a9c1d7b4e`."""
    return f"epoch-{uuid.uuid4().hex[:12]}"


# --- starting -------------------------------------------------------------------------------


def start_epoch(
    *,
    request_description: str,
    epoch_id: str | None = None,
    user: Any = None,
    actor: str = "",
    idempotency_key: str | None = None,
) -> Epoch:
    """Create the epoch's row and start its EpochWorkflow once the row is committed.

    Args:
        request_description: What the epoch is about (the p1 request).
        epoch_id: The workflow id; generated when omitted.
        user: The Django user starting it (recorded as `started_by` and audit actor).
        actor: Audit actor when there is no user (e.g. `cli`).
        idempotency_key: A repeated request with the same key returns the same epoch and
            starts nothing.

    Raises:
        EpochExists: `epoch_id` is taken (by an epoch or a running workflow).
        TemporalUnavailable: Temporal could not be reached; the row is marked failed.

    Returns:
        The epoch, with `run_id` set when this call started the workflow.
    """
    if idempotency_key:
        existing = Epoch.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    epoch_id = epoch_id or new_epoch_id()
    actor = user_actor(user) or actor
    try:
        with transaction.atomic():
            epoch = Epoch.objects.create(
                epoch_id=epoch_id,
                request_description=request_description,
                started_by=user if getattr(user, "is_authenticated", False) else None,
                idempotency_key=idempotency_key or None,
            )
            record_event(
                subject_kind=SUBJECT_KIND,
                subject_id=epoch_id,
                event_type="epoch_started",
                phase=PhaseId.P1_Request,
                actor=actor,
                payload={"request_description": request_description},
                workflow_id=epoch_id,
            )
            # Start after commit: the workflow's activities must find the row.
            transaction.on_commit(lambda: _start_workflow(epoch))
    except IntegrityError:
        if idempotency_key:
            existing = Epoch.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        raise EpochExists(f"Epoch {epoch_id!r} already exists.") from None
    return epoch


def _start_workflow(epoch: Epoch) -> None:
    try:
        epoch.run_id = run_sync(_start(epoch))
    except WorkflowAlreadyStartedError:
        _mark_failed(epoch, "a workflow with this id is already running")
        raise EpochExists(f"Epoch {epoch.epoch_id!r} already exists.") from None
    except (TemporalUnavailable, RPCError) as exc:
        _mark_failed(epoch, f"could not start the workflow: {exc}")
        raise TemporalUnavailable(str(exc)) from exc
    Epoch.objects.filter(pk=epoch.pk).update(run_id=epoch.run_id)


async def _start(epoch: Epoch) -> str:
    client = await get_client()
    handle = await client.start_workflow(
        EpochWorkflow.run,
        EpochInput(
            epoch_id=epoch.epoch_id,
            request_description=epoch.request_description,
            continue_as_new_after=conf.continue_as_new_after(),
        ),
        id=epoch.epoch_id,
        task_queue=conf.task_queue(),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    return handle.result_run_id or ""


def _mark_failed(epoch: Epoch, error: str) -> None:
    epoch.status, epoch.last_error = Epoch.Status.FAILED, error
    Epoch.objects.filter(pk=epoch.pk).update(status=epoch.status, last_error=error)


# --- requests to a running epoch ------------------------------------------------------------


def advance_epoch(
    epoch: Epoch,
    *,
    to_phase: PhaseId,
    user: Any = None,
    actor: str = "",
    triggered_by: str = "",
    condition_met: str = "",
) -> EpochSnapshot:
    """Move the epoch to `to_phase` (the `advance` update).

    Raises:
        MoveRefused: the transition table or a gate refuses the move (nothing changed).
        EpochNotRunning: the epoch's workflow is closed or unknown.
    """
    actor = user_actor(user) or actor
    request = PhaseAdvanceSignal(
        to_phase=PhaseId(to_phase),
        triggered_by=triggered_by or actor,
        condition_met=condition_met or _forward_condition(epoch, to_phase),
    )
    return _request(epoch, "advance", request, actor=actor, field="to_phase")


def vote(
    epoch: Epoch, *, axis: str, vote: str, user: Any = None, actor: str = "", reviewer_id=""
) -> EpochSnapshot:
    """Record a review vote (the `vote` update); only p4 and p10 accept votes.

    Raises:
        MoveRefused: the epoch is not in a review phase.
        EpochNotRunning: the epoch's workflow is closed or unknown.
    """
    actor = user_actor(user) or actor
    request = ReviewVoteSignal(axis=axis, vote=vote, reviewer_id=reviewer_id or actor)
    return _request(epoch, "vote", request, actor=actor, field="vote")


def record_finding(
    epoch: Epoch,
    *,
    blocker_id: str,
    severity: str,
    resolved: bool = False,
    description: str = "",
    user: Any = None,
    actor: str = "",
) -> EpochSnapshot:
    """Open or resolve a review finding (the `blocker` update).

    Raises:
        MoveRefused: the finding is already open / not open, or the epoch is complete.
        EpochNotRunning: the epoch's workflow is closed or unknown.
    """
    actor = user_actor(user) or actor
    request = BlockerSignal(
        blocker_id=blocker_id,
        severity=severity,
        resolved=resolved,
        description=description,
        reported_by=actor,
    )
    return _request(epoch, "blocker", request, actor=actor, field="blocker_id")


def submit_slice(
    epoch: Epoch,
    *,
    slice_id: str,
    mode: str = SliceMode.Mock,
    command: str = "",
    timeout_seconds: int = 300,
    await_completion: bool = False,
    user: Any = None,
    actor: str = "",
) -> EpochSnapshot:
    """Add a worker slice (the `slice` update); in p9 its SliceWorkflow starts at once.

    Raises:
        SliceCommandsDisabled: a non-mock slice without AURA_ALLOW_SLICE_COMMANDS=1 or without
            the `epochs.run_slice_command` permission.
        MoveRefused: the epoch is not in p8/p9, or the slice is already pending/running.
        EpochNotRunning: the epoch's workflow is closed or unknown.
    """
    if mode != SliceMode.Mock:
        if not conf.allow_slice_commands():
            raise SliceCommandsDisabled(
                "Slice commands are disabled on this server; ask an operator to allow them."
            )
        if user is not None and not user.has_perm("epochs.run_slice_command"):
            raise SliceCommandsDisabled("You may not submit slices that run commands.")
    actor = user_actor(user) or actor
    request = SliceSubmission(
        slice_id=slice_id,
        mode=SliceMode(mode),
        command=command,
        timeout_seconds=timeout_seconds,
        await_completion=await_completion,
        submitted_by=actor,
    )
    return _request(epoch, "slice", request, actor=actor, field="slice_id")


def register_session(
    epoch: Epoch,
    *,
    session_id: str,
    role: str = "",
    model_harness: str = "",
    model: str = "",
    user: Any = None,
    actor: str = "",
) -> EpochSnapshot:
    """Register an agent session (the `session` update); re-registering an id is a no-op."""
    actor = user_actor(user) or actor
    request = SessionRegisterSignal(epoch.epoch_id, session_id, role, model_harness, model)
    return _request(epoch, "session", request, actor=actor, field="session_id")


# A run that ended any of these ways never recorded the end of its epoch.
_ENDED_UNFINISHED = {
    WorkflowExecutionStatus.TERMINATED: "workflow terminated",
    WorkflowExecutionStatus.FAILED: "workflow failed",
    WorkflowExecutionStatus.CANCELED: "workflow cancelled",
    WorkflowExecutionStatus.TIMED_OUT: "workflow timed out",
}


class _EndedUnfinished(Exception):
    """Raised when an epoch's workflow has ended without completing the epoch."""


def live_snapshot(epoch: Epoch) -> EpochSnapshot | None:
    """Return the running workflow's snapshot, or None once it is closed or unreachable.

    An epoch whose workflow was terminated (or failed, was cancelled, timed out) is recorded
    as failed here: nothing else would close its record.
    """
    if epoch.status != Epoch.Status.RUNNING:
        return None
    try:
        return run_sync(_live(epoch.epoch_id))
    except _EndedUnfinished as ended:
        close_unfinished(epoch, str(ended))
    except (RPCError, TemporalUnavailable):
        pass
    return None


async def _live(epoch_id: str) -> EpochSnapshot:
    handle = (await get_client()).get_workflow_handle(epoch_id)
    ended = _ENDED_UNFINISHED.get((await handle.describe()).status)
    if ended:
        raise _EndedUnfinished(ended)
    return await handle.query(EpochWorkflow.snapshot)


def close_unfinished(epoch: Epoch, error: str) -> None:
    """Record that a running epoch's workflow ended without completing it (once)."""
    now = timezone.now()
    with transaction.atomic():
        closed = Epoch.objects.filter(pk=epoch.pk, status=Epoch.Status.RUNNING).update(
            status=Epoch.Status.FAILED, last_error=error, completed_at=now, updated_at=now
        )
        if closed:
            record_event(
                subject_kind=SUBJECT_KIND,
                subject_id=epoch.epoch_id,
                event_type="epoch_failed",
                phase=epoch.current_phase,
                payload={"error": error},
                workflow_id=epoch.epoch_id,
            )
    epoch.refresh_from_db()


def _request(epoch: Epoch, update: str, request: Any, *, actor: str, field: str) -> EpochSnapshot:
    """Send one validated update; audit the request with its actor, accepted or refused."""
    payload = {
        k: str(v) if not isinstance(v, bool | int) else v for k, v in asdict(request).items()
    }
    try:
        snapshot = run_sync(_update(epoch.epoch_id, update, request))
    except EpochNotRunning:
        live_snapshot(epoch)  # records a workflow that ended unfinished
        raise
    except MoveRefused as refused:
        refused.field = field
        _audit_request(epoch, update, payload, actor=actor, violations=refused.violations)
        raise
    _audit_request(epoch, update, payload, actor=actor, phase=snapshot.state.current_phase)
    return snapshot


async def _update(epoch_id: str, update: str, request: Any) -> EpochSnapshot:
    client = await get_client()
    handle = client.get_workflow_handle(epoch_id)
    try:
        return await execute_update(handle, update, request)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == REFUSED:
            violations = list(cause.details[0]) if cause.details else [cause.message]
            raise MoveRefused(violations) from None
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise EpochNotRunning(f"Epoch {epoch_id!r} is not running.") from None
        raise


async def execute_update(handle: Any, update: Any, request: Any, *, attempts: int = 5) -> Any:
    """Run an update, retrying while the epoch is between runs (continue-as-new).

    An update that reaches a run just as it continues as new is answered "workflow not
    ready"; the next run takes it.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await handle.execute_update(update, request, result_type=EpochSnapshot)
        except RPCError as exc:
            if exc.status != RPCStatusCode.FAILED_PRECONDITION or attempt == attempts:
                raise
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _audit_request(
    epoch: Epoch,
    update: str,
    payload: dict[str, Any],
    *,
    actor: str,
    phase: str | None = None,
    violations: list[str] | None = None,
) -> None:
    record_event(
        subject_kind=SUBJECT_KIND,
        subject_id=epoch.epoch_id,
        event_type=f"{update}_requested",
        phase=phase or epoch.current_phase,
        actor=actor,
        payload={**payload, "accepted": violations is None, "violations": violations or []},
        workflow_id=epoch.epoch_id,
    )


def _forward_condition(epoch: Epoch, to_phase: str) -> str:
    """Return the table's condition text of a move, as the default `condition_met`."""
    spec = PHASE_SPECS.get(PhaseId(epoch.current_phase)) if epoch.current_phase else None
    for transition in spec.transitions if spec else ():
        if transition.to_phase == to_phase:
            return transition.condition
    return ""


# --- rows written by the activities ---------------------------------------------------------


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
            "condition_met": record.condition_met,
            "success": record.success,
            "occurred_at": record.timestamp,
        },
    )
    domain = PHASE_DOMAIN.get(PhaseId(data.current_phase))
    complete = data.current_phase == PhaseId.Complete
    Epoch.objects.filter(pk=epoch.pk).update(
        current_phase=data.current_phase,
        domain=domain.value if domain else "",
        status=Epoch.Status.COMPLETE if complete else Epoch.Status.RUNNING,
        blocker_count=data.blocker_count,
        last_error=data.last_error or "",
        completed_at=record.timestamp if complete else None,
        updated_at=timezone.now(),
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
