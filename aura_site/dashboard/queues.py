"""Each task queue's backlog and pollers, as Temporal's task-queue description reports them.

`describe_task_queue` with `report_stats` answers the backlog count and age at the top level
(the server's "enhanced" mode is deprecated and only nests the same numbers per build id).
Everything runs under one short deadline: the dashboard must render while Temporal is down.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from aura_site.temporal import TemporalUnavailable, get_client, run_sync

# The whole look, connecting included; one describe call gets less.
TIMEOUT_SECONDS = 2.0
_KINDS = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


@dataclass(frozen=True)
class QueueState:
    """One task queue's side (workflow or activity tasks) as Temporal sees it now."""

    name: str
    kind: str
    backlog: int
    backlog_age_seconds: float
    pollers: list[str]


def queue_names() -> list[str]:
    """Return the task queues the app uses, from the settings."""
    return [settings.TEMPORAL_TASK_QUEUE, settings.CRISIS_TASK_QUEUE]


async def describe_queue(client: Client, name: str, kind: str) -> QueueState:
    """Return one side (`workflow` or `activity`) of the task queue `name`."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=name),
            task_queue_type=_KINDS[kind],
            report_stats=True,
        ),
        timeout=timedelta(seconds=TIMEOUT_SECONDS),
    )
    stats = response.stats
    return QueueState(
        name=name,
        kind=kind,
        backlog=stats.approximate_backlog_count,
        backlog_age_seconds=stats.approximate_backlog_age.ToTimedelta().total_seconds(),
        pollers=sorted(poller.identity for poller in response.pollers),
    )


async def describe_queues(names: list[str]) -> list[QueueState]:
    """Return the workflow and activity side of each queue in `names`.

    Raises:
        TemporalUnavailable: Temporal cannot be reached or did not answer in time.
    """

    async def describe_all() -> list[QueueState]:
        client = await get_client()  # once: concurrent first calls would each connect
        calls = [describe_queue(client, name, kind) for name in names for kind in _KINDS]
        return list(await asyncio.gather(*calls))

    try:
        return await asyncio.wait_for(describe_all(), TIMEOUT_SECONDS)
    except TimeoutError as exc:
        raise TemporalUnavailable(f"no answer within {TIMEOUT_SECONDS:g} s") from exc
    except RPCError as exc:
        raise TemporalUnavailable(exc.message) from exc


def task_queues() -> tuple[list[QueueState], str]:
    """Return the app's queues and an empty error, or no queues and why Temporal cannot tell."""
    try:
        return run_sync(describe_queues(queue_names())), ""
    except TemporalUnavailable as exc:
        return [], str(exc)
