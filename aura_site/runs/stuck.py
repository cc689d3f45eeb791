"""Stuck work: running workflows whose current activity keeps failing and is being retried.

Temporal knows what a record cannot: the attempt an activity is on, why the last one failed and
when the next one starts (`describe()` → `pending_activities`). Describing costs one call per
workflow, so callers pass a bounded list of running records (`LIMIT`, the oldest first).
"""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.service import RPCError

from aura_site.runs.executions import is_not_found
from aura_site.temporal import get_client, run_sync

# How many running records one look describes (the oldest first).
LIMIT = 50
# Describe calls in flight at once: enough to be quick, few enough to be gentle on the server.
_CONCURRENCY = 10


@dataclass(frozen=True)
class PendingActivity:
    """One activity a workflow is waiting for, as Temporal describes it."""

    activity_type: str
    state: str
    attempt: int
    maximum_attempts: int
    last_failure: str
    next_attempt_at: datetime | None
    last_started_at: datetime | None

    @property
    def retrying(self) -> bool:
        """Return whether at least one attempt failed already."""
        return self.attempt > 1


@dataclass(frozen=True)
class StuckRun:
    """A record whose workflow has at least one retrying activity."""

    record: object
    activities: list[PendingActivity]


def _time(info: PendingActivityInfo, field: str) -> datetime | None:
    return getattr(info, field).ToDatetime() if info.HasField(field) else None


def _pending(info: PendingActivityInfo) -> PendingActivity:
    state = PendingActivityState.Name(info.state).removeprefix("PENDING_ACTIVITY_STATE_")
    return PendingActivity(
        activity_type=info.activity_type.name,
        state=state.lower(),
        attempt=info.attempt,
        maximum_attempts=info.maximum_attempts,
        last_failure=info.last_failure.message if info.HasField("last_failure") else "",
        next_attempt_at=_time(info, "next_attempt_schedule_time"),
        last_started_at=_time(info, "last_started_time"),
    )


async def describe_pending(workflow_ids: Iterable[str]) -> dict[str, list[PendingActivity]]:
    """Return each running workflow's pending activities; workflows Temporal lacks are left out.

    Raises:
        TemporalUnavailable: Temporal cannot be reached.
        RPCError: Temporal refused a describe for another reason than NOT_FOUND.
    """
    client = await get_client()
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(workflow_id: str) -> tuple[str, list[PendingActivity] | None]:
        async with gate:
            try:
                description = await client.get_workflow_handle(workflow_id).describe()
            except RPCError as exc:
                if is_not_found(exc):
                    return workflow_id, None
                raise
        pending = description.raw_description.pending_activities
        return workflow_id, [_pending(info) for info in pending]

    described = await asyncio.gather(*(one(workflow_id) for workflow_id in workflow_ids))
    return {workflow_id: pending for workflow_id, pending in described if pending is not None}


def stuck_runs(records: Iterable[object], *, workflow_id_field: str) -> list[StuckRun]:
    """Return the records whose workflow is retrying an activity, with all its pending ones.

    Raises:
        TemporalUnavailable: Temporal cannot be reached.
        RPCError: Temporal refused a describe.
    """
    records = list(records)
    if not records:
        return []
    ids = [getattr(record, workflow_id_field) for record in records]
    pending = run_sync(describe_pending(ids))
    return [
        StuckRun(record, pending[workflow_id])
        for record, workflow_id in zip(records, ids, strict=True)
        if any(activity.retrying for activity in pending.get(workflow_id, ()))
    ]
