"""The crisis schedule admin: forms, permissions, and the whole round in a real browser."""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.models import AuditEvent
from aura_site.temporal import run_sync
from crises.models import Crisis, CrisisSchedule
from crises.services import temporal_schedules
from tests.conftest import free_port

LIST = "/admin/crises/crisisschedule/"
PREFIX = temporal_schedules.SCHEDULE_ID_PREFIX
MISSIONS = (
    '[{"phase_id": "phase-1", "agent_id": "agent-recon-001", "action": "recon", '
    '"target": "target-alpha"}, {"phase_id": "phase-2", "agent_id": "agent-secure-002", '
    '"action": "secure", "target": "target-alpha"}]'
)


@pytest.fixture
def temporal_down(settings) -> None:
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"


@pytest.mark.django_db
def test_the_add_form_applies_the_service_rules(admin_client: Client, temporal_down) -> None:
    form = {"name": "drill", "target": "target-alpha", "missions": MISSIONS, "cron": "61 * * * *"}
    page = admin_client.post(f"{LIST}add/", form).content.decode()
    assert "minute: 61 is not in 0-59" in page
    form |= {"cron": "", "interval_seconds": ""}
    page = admin_client.post(f"{LIST}add/", form).content.decode()
    assert "Give either a cron expression or an interval" in page
    page = admin_client.post(f"{LIST}add/", {**form, "missions": '[{"phase_id": "p"}]'})
    assert "missions.0.agent_id: This field is required." in page.content.decode()
    assert not CrisisSchedule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_viewer_sees_but_cannot_operate(client: Client, admin_client: Client, temporal_down):
    form = {"name": "drill", "target": "target-alpha", "missions": MISSIONS, "cron": "@daily"}
    assert admin_client.post(f"{LIST}add/", form).status_code == 302
    schedule = CrisisSchedule.objects.get()
    assert schedule.sync_state == "error"
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_crisisschedule"))
    client.force_login(viewer)
    page = client.get(f"{LIST}{schedule.pk}/change/")
    assert page.status_code == 200 and b'id="schedule-trigger"' not in page.content
    assert b"Temporal cannot say" in page.content
    for verb in ("trigger", "pause", "resume"):
        assert client.post(f"{LIST}{schedule.pk}/{verb}/").status_code == 403
    assert client.get(f"{LIST}{schedule.pk}/backfill/").status_code == 403
    assert not CrisisSchedule.objects.get().paused
    assert not AuditEvent.objects.exclude(event_type="schedule_created").exists()
    # Its audit events and crises are for those who may read them.
    assert b'id="schedule-events"' not in page.content
    assert b"Recent crises" not in page.content
    viewer.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(User.objects.get(pk=viewer.pk))
    page = client.get(f"{LIST}{schedule.pk}/change/")
    assert b'id="schedule-events"' in page.content and b"schedule_created" in page.content


def in_thread(function, *args, **kwargs):
    """Run `function` off Playwright's thread (its loop would refuse Temporal's sync calls)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(function, *args, **kwargs).result()


def temporal_paused(client, name: str) -> bool:
    description = in_thread(run_sync, temporal_schedules.describe(client, name))
    return description.schedule.state.paused


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_define_pause_trigger_and_backfill_a_drill_in_the_browser(
    admin_page, live_server, background_crisis_worker, temporal_settings, screenshot
) -> None:
    name = f"drill-{uuid.uuid4().hex[:6]}"
    page = admin_page
    page.goto(f"{live_server.url}{LIST}add/")
    page.fill("#id_name", name)
    page.fill("#id_target", "target-alpha")
    page.fill("#id_missions", MISSIONS)
    page.fill("#id_cron", "0 0 1 1 *")
    screenshot("add-form")
    page.click("input[name=_continue]")
    page.get_by_text("was added successfully").wait_for()
    assert page.locator("#schedule-next-runs li").count() == 5
    assert "Synced" in page.inner_text(".field-sync_badge")
    screenshot("defined")

    page.click("#schedule-pause")
    page.get_by_text(f"Paused: {name}.").wait_for()
    assert page.locator("#schedule-resume").count() == 1
    assert temporal_paused(temporal_settings, name)
    screenshot("paused")

    page.click("#schedule-trigger")
    page.get_by_text(f"Triggered: {name}.").wait_for()
    for _ in range(60):
        if Crisis.objects.filter(schedule__name=name, status="completed").exists():
            break
        page.wait_for_timeout(250)
    page.reload()
    assert re.search(r"crisis-target-alpha-\d+ completed", page.inner_text("#schedule-crises"))
    screenshot("triggered")

    page.click("#schedule-backfill")
    page.fill("#id_start", "2026-01-01T01:00")
    page.fill("#id_end", "2025-12-31T23:00")
    page.click("input[name=_backfill]")
    page.get_by_text("The end must be after the start.").wait_for()
    screenshot("backfill-refused")
    page.fill("#id_start", "2025-12-31T23:00")
    page.fill("#id_end", "2026-01-01T01:00")
    page.click("input[name=_backfill]")
    page.get_by_text(f"Backfill of {name}: 1 firing(s).").wait_for()
    for _ in range(60):
        if Crisis.objects.filter(schedule__name=name, status="completed").count() == 2:
            break
        page.wait_for_timeout(250)
    page.click("#schedule-resume")
    page.get_by_text(f"Resumed: {name}.").wait_for()
    assert not temporal_paused(temporal_settings, name)
    events = page.inner_text("#schedule-events")
    for event in ("schedule_created", "schedule_paused", "schedule_triggered"):
        assert event in events
    assert "schedule_backfilled" in events and "user:admin" in events
    screenshot("backfilled")

    crisis = Crisis.objects.filter(schedule__name=name).first()
    page.goto(f"{live_server.url}/admin/crises/crisis/{crisis.pk}/change/")
    assert page.inner_text("#crisis-schedule") == name
    page.goto(f"{live_server.url}/admin/crises/crisis/?schedule__id__exact={crisis.schedule_id}")
    assert page.locator("#result_list tbody tr").count() == 2
    screenshot("crises-of-the-schedule")
    in_thread(run_sync, temporal_schedules.delete(temporal_settings, f"{PREFIX}{name}"))
