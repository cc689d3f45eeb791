"""A crisis schedule's Temporal side: the Schedule a row means, and reading, writing, listing it.

Aura owns the Temporal schedules whose id starts with `SCHEDULE_ID_PREFIX` and no others: a
schedule someone else made in the same namespace is never read back, changed or deleted.
"""

from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.service import RPCError, RPCStatusCode

from aura_site.runs.outbox import as_json
from crises.inputs import MissionPhase, ScheduledCrisisInput
from crises.models import CrisisSchedule
from crises.schedule_specs import schedule_spec
from crises.workflows import ScheduledCrisisWorkflow

SCHEDULE_ID_PREFIX = "aura-crisis-schedule-"
FIRING_ID_PREFIX = "scheduled-crisis-"
# A drill Temporal could not fire in time (server down) is dropped, not made up for later:
# an operator backfills the window if they want it.
CATCHUP_WINDOW = timedelta(minutes=1)
# Firings only record a crisis and return: they never overlap for long, and a trigger or a
# backfill must not be skipped because another firing is running.
OVERLAP = ScheduleOverlapPolicy.ALLOW_ALL
RPC_TIMEOUT = timedelta(seconds=5)


def schedule_id(name: str) -> str:
    """Return the Temporal schedule id of the crisis schedule `name`."""
    return f"{SCHEDULE_ID_PREFIX}{name}"


def is_owned(temporal_id: str) -> bool:
    return temporal_id.startswith(SCHEDULE_ID_PREFIX)


def firing_input(schedule: CrisisSchedule) -> ScheduledCrisisInput:
    """Return what each firing of `schedule` records a crisis from."""
    return ScheduledCrisisInput(
        schedule=schedule.name,
        target=schedule.target,
        missions=[MissionPhase(**mission) for mission in schedule.missions],
        initiated_by=f"schedule:{schedule.name}",
    )


def desired(schedule: CrisisSchedule) -> Schedule:
    """Return the Temporal Schedule the row means."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ScheduledCrisisWorkflow.run,
            firing_input(schedule),
            id=f"{FIRING_ID_PREFIX}{schedule.name}",
            task_queue=settings.CRISIS_TASK_QUEUE,
        ),
        spec=schedule_spec(cron=schedule.cron, interval_seconds=schedule.interval_seconds),
        policy=SchedulePolicy(overlap=OVERLAP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(paused=schedule.paused, note=f"Aura crisis schedule {schedule.name}"),
    )


async def _action_args(client: Client, action: ScheduleActionStartWorkflow) -> list:
    """Return an action's arguments as JSON values, decoded as the client decodes payloads."""
    if getattr(action, "_from_raw", False):  # as Temporal described it: payloads
        return await client.data_converter.decode(action.args)  # type: ignore[arg-type]
    return [as_json(arg) for arg in action.args]


async def differences(client: Client, want: Schedule, have: Schedule) -> list[str]:
    """Return what differs between the Schedule a row means and the one Temporal has."""
    found = []
    if have.spec != want.spec:
        found.append("spec")
    if have.state.paused != want.state.paused:
        found.append("paused")
    action = have.action
    assert isinstance(want.action, ScheduleActionStartWorkflow)
    if not isinstance(action, ScheduleActionStartWorkflow):
        found.append("action")
    elif (action.workflow, action.id, action.task_queue) != (
        want.action.workflow,
        want.action.id,
        want.action.task_queue,
    ) or await _action_args(client, action) != await _action_args(client, want.action):
        found.append("action")
    if (have.policy.overlap, have.policy.catchup_window) != (
        want.policy.overlap,
        want.policy.catchup_window,
    ):
        found.append("policy")
    return found


async def describe(client: Client, name: str) -> ScheduleDescription | None:
    """Return Temporal's description of the schedule, or None when it has none."""
    try:
        return await client.get_schedule_handle(schedule_id(name)).describe(
            rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def create(client: Client, name: str, schedule: Schedule) -> None:
    await client.create_schedule(schedule_id(name), schedule, rpc_timeout=RPC_TIMEOUT)


async def replace(client: Client, name: str, schedule: Schedule) -> None:
    await client.get_schedule_handle(schedule_id(name)).update(
        lambda _current: ScheduleUpdate(schedule=schedule), rpc_timeout=RPC_TIMEOUT
    )


async def delete(client: Client, temporal_id: str) -> bool:
    """Delete an Aura-owned schedule; return False when Temporal has no such schedule."""
    assert is_owned(temporal_id), temporal_id
    try:
        await client.get_schedule_handle(temporal_id).delete(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def owned_ids(client: Client) -> list[str]:
    """Return the ids of the Aura-owned schedules Temporal lists."""
    listed = await client.list_schedules(rpc_timeout=RPC_TIMEOUT)
    return [schedule.id async for schedule in listed if is_owned(schedule.id)]


async def trigger(client: Client, name: str) -> None:
    await client.get_schedule_handle(schedule_id(name)).trigger(
        overlap=OVERLAP, rpc_timeout=RPC_TIMEOUT
    )


async def backfill(client: Client, name: str, start: datetime, end: datetime) -> None:
    await client.get_schedule_handle(schedule_id(name)).backfill(
        ScheduleBackfill(start_at=start, end_at=end, overlap=OVERLAP), rpc_timeout=RPC_TIMEOUT
    )


def mission_dicts(request: ScheduledCrisisInput) -> list[dict]:
    return [asdict(mission) for mission in request.missions]
