"""Requests to a running epoch: its moves, and reading its live state.

Moves go through the EpochWorkflow's validated updates, so a refused move comes back at once
with the protocol's messages and changes nothing. Each request is audited with its actor,
accepted or refused.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils import timezone
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from audit.services import record_event, user_actor
from aura_site.runs import executions
from aura_site.temporal import TemporalUnavailable, get_client, run_sync
from epochs import conf, records
from epochs.exceptions import EpochNotRunning, MoveRefused, SliceCommandsDisabled
from epochs.inputs import (
    BlockerSignal,
    EpochSnapshot,
    PhaseAdvanceSignal,
    ReviewVoteSignal,
    SessionRegisterSignal,
    SliceSubmission,
)
from epochs.models import Epoch
from epochs.protocol import PHASE_SPECS, PhaseId, SliceMode
from epochs.workflows import REFUSED, EpochWorkflow

SUBJECT_KIND = "epoch"
OPEN_STATUSES = (Epoch.Status.INITIATED, Epoch.Status.RUNNING)


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
        actor=actor,
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
    request = ReviewVoteSignal(
        axis=axis,
        vote=vote,
        reviewer_id=reviewer_id or actor,
        actor=actor,
        distinct_voters=conf.distinct_voters(),
    )
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


def live_snapshot(epoch: Epoch) -> EpochSnapshot | None:
    """Return the running workflow's snapshot, or None once it is closed or unreachable.

    An epoch whose workflow ended without completing it (terminated, failed, cancelled, timed
    out, never started) is recorded as failed here: nothing else would close its record.
    """
    if epoch.status != Epoch.Status.RUNNING:
        return None
    try:
        status, snapshot = run_sync(_live(epoch.epoch_id))
    except (RPCError, TemporalUnavailable):
        return None
    if snapshot is None:
        reason = executions.unrecorded_end(epoch.epoch_id, status, created_at=epoch.created_at)
        if reason is not None:
            close_unfinished(epoch, reason)
    return snapshot


async def _live(epoch_id: str) -> tuple[WorkflowExecutionStatus | None, EpochSnapshot | None]:
    """Return the workflow's status and, unless it is gone or ended unrecorded, its snapshot."""
    status = await executions.execution_status(epoch_id)
    if status is None or status in executions.ENDED_UNRECORDED:
        return status, None
    handle = (await get_client()).get_workflow_handle(epoch_id)
    return status, await handle.query(EpochWorkflow.snapshot)


def close_unfinished(
    epoch: Epoch,
    error: str,
    *,
    status: str = Epoch.Status.FAILED,
    event_type: str = "epoch_failed",
    actor: str = "",
    **payload: Any,
) -> bool:
    """Record that an open epoch's workflow ended (or never began) without completing it.

    Returns whether this call closed it (an epoch closes once; later calls change nothing).
    """
    now = timezone.now()
    with transaction.atomic():
        closed = Epoch.objects.filter(pk=epoch.pk, status__in=OPEN_STATUSES).update(
            status=status, last_error=error, completed_at=now, updated_at=now
        )
        if closed:
            record_event(
                subject_kind=SUBJECT_KIND,
                subject_id=epoch.epoch_id,
                event_type=event_type,
                phase=epoch.current_phase,
                actor=actor,
                payload={"error": error, **payload},
                workflow_id=epoch.epoch_id,
            )
    epoch.refresh_from_db()
    return bool(closed)


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
        with transaction.atomic():
            if isinstance(request, PhaseAdvanceSignal):
                records.save_refused_advance(epoch, request, refused.violations)
            _audit_request(epoch, update, payload, actor=actor, violations=refused.violations)
        raise MoveRefused(refused.violations, field=field) from None
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
        if executions.is_not_found(exc):
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
