"""`manage.py sync_schedules` and Temporal being down: drift repaired both ways, --dry-run
changes nothing, and a schedule Aura does not own is never touched."""

import datetime as dt
import uuid
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)

from audit.models import AuditEvent
from aura_site import temporal
from crises.models import CrisisSchedule
from crises.services import schedules, temporal_schedules
from tests.conftest import free_port
from tests.crises.test_schedules import MISSIONS, NEVER

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make(name: str, **fields) -> CrisisSchedule:
    spec = fields or {"cron": NEVER}
    return schedules.create_schedule(
        name=name, target="target-sync", missions=MISSIONS, actor="pytest", **spec
    )


def sync(*args: str) -> list[str]:
    out = StringIO()
    call_command("sync_schedules", *args, stdout=out)
    return out.getvalue().splitlines()


async def exists(client: Client, name: str) -> bool:
    return await temporal_schedules.describe(client, name) is not None


class TemporalDown:
    """Point the app's client at a port nothing listens on, then back."""

    def __init__(self, settings, client: Client) -> None:
        self.settings, self.client = settings, client
        self.address = settings.TEMPORAL_ADDRESS

    def __enter__(self) -> None:
        self.settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"

    def __exit__(self, *exc) -> None:
        self.settings.TEMPORAL_ADDRESS = self.address
        temporal.set_client(self.client)


async def test_sync_repairs_drift_both_ways_and_never_touches_a_foreign_schedule(
    owned_schedules_cleared: Client, crisis_settings, settings
) -> None:
    client = owned_schedules_cleared
    kept, missing, gone = unique("kept"), unique("missing"), unique("gone")
    await sync_to_async(make)(kept)
    await sync_to_async(make)(gone)
    with TemporalDown(settings, client):
        row = await sync_to_async(make)(missing)
        assert row.sync_state == "error" and row.sync_error
        await sync_to_async(schedules.delete_schedule)(
            await CrisisSchedule.objects.aget(name=gone), actor="pytest"
        )
    # Someone changes Aura's schedule behind its back ...
    handle = client.get_schedule_handle(temporal_schedules.schedule_id(kept))

    def hourly(update_input) -> ScheduleUpdate:
        schedule = update_input.description.schedule
        schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=dt.timedelta(hours=1))])
        schedule.state = ScheduleState(paused=True)
        action = schedule.action
        elsewhere = {"schedule": kept, "target": "elsewhere", "missions": MISSIONS}
        schedule.action = ScheduleActionStartWorkflow(
            action.workflow, elsewhere, id=action.id, task_queue=action.task_queue
        )
        return ScheduleUpdate(schedule=schedule)

    await handle.update(hourly)
    # ... and another team has a schedule in the same namespace, with a look-alike id.
    foreign_id = f"team-{temporal_schedules.schedule_id(unique('theirs'))}"
    await client.create_schedule(
        foreign_id,
        Schedule(
            action=ScheduleActionStartWorkflow("TheirWorkflow", id="theirs", task_queue="theirs"),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=dt.timedelta(days=1))]),
            state=ScheduleState(paused=True, note="not Aura's"),
        ),
    )
    foreign = await client.get_schedule_handle(foreign_id).describe()

    planned = await sync_to_async(sync)("--dry-run")
    assert sorted(planned[:-1]) == sorted(
        [
            f"would create aura-crisis-schedule-{missing}: missing in Temporal",
            f"would update aura-crisis-schedule-{kept}: differs: spec, paused, action",
            f"would delete aura-crisis-schedule-{gone}: no crisis schedule in Aura",
        ]
    )
    assert planned[-1] == "Dry run: 1 to create, 1 to update, 1 to delete; nothing changed."
    assert await exists(client, kept) and await exists(client, gone)
    assert not await exists(client, missing)
    assert (await handle.describe()).schedule.state.paused

    made = await sync_to_async(sync)()
    assert sorted(made[:-1]) == sorted(line.removeprefix("would ") for line in planned[:-1])
    assert made[-1] == "3 change(s) made: 1 to create, 1 to update, 1 to delete."
    assert await exists(client, kept) and await exists(client, missing)
    assert not await exists(client, gone)
    repaired = await handle.describe()
    assert not repaired.schedule.state.paused
    assert repaired.schedule.spec.calendars[0].comment == NEVER
    (firing_input,) = await client.data_converter.decode(repaired.schedule.action.args)
    assert firing_input["target"] == "target-sync"
    assert (await CrisisSchedule.objects.aget(name=missing)).sync_state == "synced"
    after = await client.get_schedule_handle(foreign_id).describe()
    assert after.schedule == foreign.schedule
    assert after.info.last_updated_at == foreign.info.last_updated_at

    assert await sync_to_async(sync)() == [
        "0 change(s) made: 0 to create, 0 to update, 0 to delete."
    ]
    synced = [e.payload async for e in AuditEvent.objects.filter(event_type="schedule_synced")]
    assert sorted(p["change"] for p in synced) == ["create", "delete", "update"]
    await client.get_schedule_handle(foreign_id).delete()


async def test_trigger_while_temporal_is_down_is_a_503_and_records_nothing(
    owned_schedules_cleared: Client, crisis_settings, settings
) -> None:

    name = unique("down")
    await sync_to_async(make)(name)
    user = await sync_to_async(User.objects.create_superuser)("root", password="pw")
    api = APIClient()
    api.force_authenticate(user)
    with TemporalDown(settings, owned_schedules_cleared):
        response = await sync_to_async(api.post)(f"/api/v1/crisis-schedules/{name}/trigger/")
        detail = await sync_to_async(api.get)(f"/api/v1/crisis-schedules/{name}/")
        with pytest.raises(CommandError, match="cannot reach Temporal"):
            await sync_to_async(sync)()
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert detail.status_code == 200 and detail.json()["next_run_times"] is None
    assert not await AuditEvent.objects.filter(event_type="schedule_triggered").aexists()
