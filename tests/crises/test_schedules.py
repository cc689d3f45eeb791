"""Recurring crises on Temporal Schedules, on the dev server: firing, trigger, backfill,
pause/resume, and the REST endpoints that drive them."""

import asyncio
import datetime as dt
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient
from temporalio.client import Client

from audit.models import AuditEvent
from aura_site.temporal import run_sync
from crises.models import Crisis
from crises.schedule_specs import count_firings
from crises.services import schedules, temporal_schedules

URL = "/api/v1/crisis-schedules/"
MISSIONS = [
    {"phase_id": "phase-1", "agent_id": "agent-recon-001", "action": "recon", "target": "t-1"},
    {"phase_id": "phase-2", "agent_id": "agent-secure-002", "action": "secure", "target": "t-1"},
]
NEVER = "0 0 1 1 *"  # once a year: fires only when triggered or backfilled in a test


def operator_api(perms=("add_crisisschedule", "change_crisisschedule", "view_crisisschedule")):
    user = User.objects.create_user(f"op-{uuid.uuid4().hex[:6]}", password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="crises", codename__in=perms)
    )
    api = APIClient()
    api.force_authenticate(User.objects.get(pk=user.pk))
    return api


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def crises_of(name: str, *, count: int, status: str | None = None, timeout: float = 30):
    """Wait until `count` crises of the schedule exist (in `status`, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        crises = Crisis.objects.filter(schedule__name=name)
        if status:
            crises = crises.filter(status=status)
        found = [crisis async for crisis in crises.select_related("schedule")]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def settled_count(name: str, quiet: float = 1.5) -> int:
    """Return the number of crises of the schedule once it has not changed for `quiet` s."""
    count, since = -1, time.monotonic()
    while True:
        now = await Crisis.objects.filter(schedule__name=name).acount()
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return count
        await asyncio.sleep(0.1)


async def described(client: Client, name: str):
    return await client.get_schedule_handle(temporal_schedules.schedule_id(name)).describe()


@pytest.mark.django_db(transaction=True)
async def test_trigger_now_fires_a_crisis_marked_with_its_schedule_that_completes(
    owned_schedules_cleared: Client, schedule_worker
) -> None:
    client = owned_schedules_cleared
    api = await sync_to_async(operator_api)()
    name = unique("drill")
    body = {"name": name, "target": "target-drill", "missions": MISSIONS, "cron": NEVER}
    created = await sync_to_async(api.post)(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["sync_state"] == "synced"
    assert created.json()["temporal_schedule_id"] == f"aura-crisis-schedule-{name}"
    description = await described(client, name)
    assert description.schedule.spec.calendars[0].comment == NEVER
    assert not description.schedule.state.paused

    async with schedule_worker(client):
        fired = await sync_to_async(api.post)(f"{URL}{name}/trigger/")
        assert fired.status_code == 202, fired.content
        (crisis,) = await crises_of(name, count=1, status="completed")
    assert crisis.schedule.name == name
    assert crisis.initiated_by == f"schedule:{name}"
    assert crisis.target == "target-drill"

    crisis_api = await sync_to_async(operator_api)(("view_crisis",))
    listed = await sync_to_async(crisis_api.get)(f"/api/v1/crises/?schedule={name}")
    assert [c["crisis_id"] for c in listed.json()["results"]] == [crisis.crisis_id]
    assert listed.json()["results"][0]["schedule"] == name
    unscheduled = await sync_to_async(crisis_api.get)("/api/v1/crises/?scheduled=false")
    assert unscheduled.json()["count"] == 0

    events = [
        (e.event_type, e.actor, e.payload)
        async for e in AuditEvent.objects.filter(subject_id=name).order_by("seq")
    ]
    assert [event[0] for event in events] == [
        "schedule_created",
        "schedule_triggered",
        "schedule_fired",
    ]
    assert events[1][1].startswith("user:op-")
    assert events[2][2]["crisis_id"] == crisis.crisis_id
    assert events[2][2]["firing_workflow_id"].startswith(f"scheduled-crisis-{name}-")
    triggered = await AuditEvent.objects.aget(
        subject_id=crisis.crisis_id, event_type="crisis_triggered"
    )
    assert triggered.payload["schedule"] == name


@pytest.mark.django_db(transaction=True)
async def test_an_interval_schedule_fires_by_itself_and_pause_resume_reach_temporal(
    owned_schedules_cleared: Client, schedule_worker
) -> None:
    client = owned_schedules_cleared
    api = await sync_to_async(operator_api)()
    name = unique("every-second")
    body = {"name": name, "target": "target-tick", "missions": MISSIONS[:1], "interval_seconds": 1}
    async with schedule_worker(client):
        created = await sync_to_async(api.post)(URL, body, format="json")
        assert created.status_code == 201, created.content
        fired = await crises_of(name, count=2, status="completed", timeout=20)
        assert len(fired) >= 2
        detail = (await sync_to_async(api.get)(f"{URL}{name}/")).json()
        next_runs = [dt.datetime.fromisoformat(t) for t in detail["next_run_times"]]
        gaps = {later - earlier for earlier, later in zip(next_runs, next_runs[1:], strict=False)}
        assert next_runs and gaps == {dt.timedelta(seconds=1)}

        paused = await sync_to_async(api.post)(f"{URL}{name}/pause/")
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert (await described(client, name)).schedule.state.paused
        count = await settled_count(name)  # a firing already under way may still land
        await asyncio.sleep(2.5)
        assert await Crisis.objects.filter(schedule__name=name).acount() == count

        resumed = await sync_to_async(api.post)(f"{URL}{name}/resume/")
        assert resumed.json()["paused"] is False
        assert not (await described(client, name)).schedule.state.paused
        await crises_of(name, count=count + 1, timeout=20)
        assert await Crisis.objects.filter(schedule__name=name).acount() > count
    types = [e.event_type async for e in AuditEvent.objects.filter(subject_id=name)]
    assert {"schedule_paused", "schedule_resumed"} <= set(types)


@pytest.mark.django_db(transaction=True)
async def test_backfill_fires_once_per_missed_time_in_the_window(
    owned_schedules_cleared: Client, schedule_worker
) -> None:
    client = owned_schedules_cleared
    api = await sync_to_async(operator_api)()
    name = unique("ten-minutes")
    cron = "*/10 * * * *"
    body = {"name": name, "target": "target-back", "missions": MISSIONS[:1], "cron": cron}
    body["paused"] = True
    assert (await sync_to_async(api.post)(URL, body, format="json")).status_code == 201
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    boundary = now - dt.timedelta(minutes=now.minute % 10)
    start = boundary - dt.timedelta(minutes=30, seconds=-30)
    end = boundary - dt.timedelta(seconds=30)
    assert count_firings(start, end, cron=cron, limit=100) == 2
    async with schedule_worker(client):
        window = {"start": start.isoformat(), "end": end.isoformat()}
        response = await sync_to_async(api.post)(f"{URL}{name}/backfill/", window, format="json")
        assert response.status_code == 202, response.content
        assert response.json()["firings"] == 2
        fired = await crises_of(name, count=2, status="completed")
        await asyncio.sleep(1)
    assert len(fired) == 2
    assert await Crisis.objects.filter(schedule__name=name).acount() == 2
    event = await AuditEvent.objects.aget(subject_id=name, event_type="schedule_backfilled")
    assert event.payload["firings"] == 2

    future = {"start": start.isoformat(), "end": (now + dt.timedelta(hours=1)).isoformat()}
    refused = await sync_to_async(api.post)(f"{URL}{name}/backfill/", future, format="json")
    assert refused.status_code == 400 and "end" in refused.json()["errors"]


@pytest.mark.django_db(transaction=True)
async def test_rest_update_and_delete_reach_temporal(owned_schedules_cleared: Client) -> None:
    client = owned_schedules_cleared
    api = await sync_to_async(operator_api)(
        ("view_crisisschedule", "add_crisisschedule", "change_crisisschedule")
        + ("delete_crisisschedule",)
    )
    name = unique("weekly")
    body = {"name": name, "target": "target-w", "missions": MISSIONS, "cron": "@weekly"}
    assert (await sync_to_async(api.post)(URL, body, format="json")).status_code == 201
    patched = await sync_to_async(api.patch)(
        f"{URL}{name}/", {"cron": "30 6 * * mon-fri"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["sync_state"] == "synced"
    calendar = (await described(client, name)).schedule.spec.calendars[0]
    assert calendar.comment == "30 6 * * mon-fri"
    switched = await sync_to_async(api.patch)(
        f"{URL}{name}/", {"interval_seconds": 3600}, format="json"
    )
    assert switched.json()["cron"] == "" and switched.json()["interval_seconds"] == 3600
    spec = (await described(client, name)).schedule.spec
    assert not spec.calendars and spec.intervals[0].every == dt.timedelta(hours=1)
    event = await AuditEvent.objects.filter(
        subject_id=name, event_type="schedule_updated"
    ).afirst()
    assert event.payload["changes"]["cron"] == ["@weekly", "30 6 * * mon-fri"]

    assert (await sync_to_async(api.delete)(f"{URL}{name}/")).status_code == 204
    assert await temporal_schedules.describe(client, name) is None
    assert await AuditEvent.objects.filter(event_type="schedule_deleted").acount() == 1


@pytest.mark.django_db(transaction=True)
def test_a_firing_records_its_crisis_once_and_none_for_an_unknown_schedule(
    temporal_settings: Client, crisis_settings
) -> None:
    name = unique("once")
    schedule = schedules.create_schedule(
        name=name, target="target-once", missions=MISSIONS, cron=NEVER, actor="pytest"
    )
    request = temporal_schedules.firing_input(schedule)
    firing_id = f"scheduled-crisis-{name}-2026-12-02T07:00:00Z"
    first = schedules.fire(request, firing_id=firing_id, actor="worker:test")
    again = schedules.fire(request, firing_id=firing_id, actor="worker:test")
    assert first == again and Crisis.objects.filter(schedule=schedule).count() == 1
    crisis = Crisis.objects.get()
    assert crisis.idempotency_key == firing_id and crisis.status in ("initiated", "running")
    assert AuditEvent.objects.filter(event_type="schedule_fired").count() == 1
    assert AuditEvent.objects.filter(event_type="crisis_triggered").count() == 1
    other = schedules.fire(request, firing_id=f"{firing_id}-next", actor="worker:test")
    assert other != first and Crisis.objects.count() == 2

    request.schedule = "no-such-schedule"
    assert schedules.fire(request, firing_id="scheduled-crisis-x", actor="worker:test") == ""
    assert Crisis.objects.count() == 2
    assert run_sync(temporal_schedules.delete(temporal_settings, f"aura-crisis-schedule-{name}"))
