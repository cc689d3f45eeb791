"""What Temporal says about a workflow execution: the one place that reads NOT_FOUND.

Runs whose workflow ended without recording it are found here too.

A record stays open (`initiated`/`running`) until its workflow writes the end. A workflow that
was terminated, timed out, failed outside the code's own handling, or was cancelled before its
cleanup ran, never does; nor does one that never started. Crises, epochs, the agency client and
the CLI ask `unrecorded_end` and close the record with the reason it gives.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from django.utils import timezone
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from aura_site.errors import DomainError
from aura_site.runs.models import StartIntent
from aura_site.temporal import TemporalUnavailable, get_client, run_sync

logger = logging.getLogger(__name__)

# A record Temporal has never heard of, older than this and with no pending start, never started.
START_GRACE = timedelta(minutes=2)

ENDED_UNRECORDED = {
    WorkflowExecutionStatus.TERMINATED: "workflow terminated",
    WorkflowExecutionStatus.TIMED_OUT: "workflow timed out",
    WorkflowExecutionStatus.FAILED: "workflow failed",
    WorkflowExecutionStatus.CANCELED: "workflow cancelled",
}


def is_not_found(exc: RPCError) -> bool:
    """Return whether Temporal answered that no such workflow exists."""
    return exc.status == RPCStatusCode.NOT_FOUND


async def cancel_execution(workflow_id: str, reason: str) -> bool:
    """Request cancellation; return False when Temporal does not know the workflow."""
    client = await get_client()
    try:
        await client.get_workflow_handle(workflow_id).cancel(reason=reason)
    except RPCError as exc:
        if is_not_found(exc):
            return False
        raise
    return True


async def terminate_execution(workflow_id: str, reason: str) -> bool:
    """Terminate the workflow at once; return False when Temporal has no running workflow."""
    client = await get_client()
    try:
        await client.get_workflow_handle(workflow_id).terminate(reason=reason)
    except RPCError as exc:
        if is_not_found(exc):  # unknown, or already closed: Temporal answers NOT_FOUND to both
            return False
        raise
    return True


def operator_note(verb: str, *, actor: str, reason: str) -> str:
    """Return why an operator ended a run, as its record keeps it: `<verb> by <actor>: <why>`."""
    return f"{verb} by {actor or 'an operator'}" + (f": {reason}" if reason else "")


def termination_reason(reason: str) -> str:
    """Return a terminate's reason, trimmed.

    Raises:
        DomainError: it is empty (a terminate skips all cleanup, so it must say why).
    """
    reason = reason.strip()
    if not reason:
        raise DomainError("A reason is required to terminate.", errors={"reason": ["Required."]})
    return reason


async def wait_closed(workflow_id: str, timeout: float) -> None:
    """Wait up to `timeout` seconds for the workflow to close, however it ends."""
    handle = (await get_client()).get_workflow_handle(workflow_id)
    try:
        await asyncio.wait_for(handle.result(), timeout=timeout)
    except (TimeoutError, WorkflowFailureError):
        pass  # still running, or ended as cancelled/terminated: the record tells which
    except RPCError as exc:
        if not is_not_found(exc):
            raise


async def execution_status(
    workflow_id: str, client: Client | None = None
) -> WorkflowExecutionStatus | None:
    """Return the workflow's status, or None when Temporal has no workflow with that id."""
    client = client or await get_client()
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if is_not_found(exc):
            return None
        raise
    return description.status


def unrecorded_end(
    workflow_id: str, status: WorkflowExecutionStatus | None, *, created_at: datetime
) -> str | None:
    """Return why an open record must be closed, given its workflow's status; None if not."""
    if status is not None:
        return ENDED_UNRECORDED.get(status)
    intent = StartIntent.objects.filter(workflow_id=workflow_id).first()
    if intent is not None and intent.state == StartIntent.State.PENDING:
        return None  # waiting to start: the reconciler has it
    if intent is not None and intent.state == StartIntent.State.FAILED:
        return intent.last_error or "workflow never started"
    if intent is None and timezone.now() - created_at <= START_GRACE:
        return None  # a starter outside the outbox may not have reached Temporal yet
    return "workflow never started" if intent is None else "workflow unknown to Temporal"


def check_run(workflow_id: str, *, created_at: datetime) -> str | None:
    """Ask Temporal how an open record's workflow stands; None while it runs or can't be told."""
    try:
        status = run_sync(execution_status(workflow_id))
    except (TemporalUnavailable, RPCError) as exc:
        logger.warning("Cannot check workflow %s in Temporal: %s", workflow_id, exc)
        return None
    return unrecorded_end(workflow_id, status, created_at=created_at)
