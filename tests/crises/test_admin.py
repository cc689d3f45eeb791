"""The crisis admin: list, trigger page, live detail page, cancel; and in a real browser."""

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.services import record_event
from crises.models import Crisis, CrisisPhase
from tests.crises.test_api import make_crisis

LIST = "/admin/crises/crisis/"


@pytest.fixture
def crisis(db) -> Crisis:
    crisis = make_crisis(
        "crisis-alpha-1", "alpha", "running", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)
    )
    CrisisPhase.objects.filter(crisis=crisis).update(status="completed", attempts=1)
    CrisisPhase.objects.create(
        crisis=crisis,
        position=1,
        phase_id="p2",
        agent_id="a2",
        action="secure",
        target="alpha",
        status="failed",
        attempts=3,
        error="perimeter breached",
    )
    record_event(subject_kind="crisis", subject_id="crisis-alpha-1", event_type="phase_failed")
    return crisis


@pytest.mark.django_db
def test_list_shows_progress_and_filters(admin_client: Client, crisis: Crisis) -> None:
    make_crisis("crisis-bravo-2", "bravo", "completed", dt.datetime.now(dt.UTC))
    page = admin_client.get(LIST).content.decode()
    assert "crisis-alpha-1" in page and "crisis-bravo-2" in page
    assert re.search(r"crisis-alpha-1.*?2/2", page, re.S)
    assert "1m 30s" in page or "1m 29s" in page or "1m 31s" in page
    filtered = admin_client.get(f"{LIST}?status__exact=completed").content.decode()
    assert "crisis-bravo-2" in filtered and "crisis-alpha-1" not in filtered
    searched = admin_client.get(f"{LIST}?q=alpha").content.decode()
    assert "crisis-alpha-1" in searched and "crisis-bravo-2" not in searched


@pytest.mark.django_db
def test_detail_page_and_progress_json(admin_client: Client, crisis: Crisis) -> None:
    page = admin_client.get(f"{LIST}{crisis.pk}/change/").content.decode()
    assert 'id="crisis-progress" max="2" value="2"' in page
    assert "perimeter breached" in page and "phase_failed" in page
    assert 'id="crisis-cancel"' in page
    assert "/workflows/crisis-workflow-crisis-alpha-1" in page
    assert 'name="_save"' not in page
    data = admin_client.get(f"{LIST}{crisis.pk}/progress.json").json()
    assert data["active"] is True and data["summary"]["total_phases"] == 2
    assert admin_client.get(f"{LIST}{crisis.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_trigger_page_refuses_invalid_input(admin_client: Client) -> None:
    form = {
        "target": "ab",
        "missions-TOTAL_FORMS": "2",
        "missions-INITIAL_FORMS": "0",
        "missions-0-phase_id": "p1",
        "missions-0-agent_id": "a1",
        "missions-0-action": "recon",
        "missions-1-phase_id": "p1",
        "missions-1-agent_id": "a2",
        "missions-1-action": "secure",
    }
    response = admin_client.post(f"{LIST}add/", form)
    assert response.status_code == 200
    assert "Ensure this value has at least 3 characters" in response.content.decode()
    response = admin_client.post(f"{LIST}add/", {**form, "target": "target-ok"})
    assert "Duplicate phase id" in response.content.decode()
    assert not Crisis.objects.exists()


@pytest.mark.django_db
def test_viewer_cannot_trigger_or_cancel(client: Client, crisis: Crisis) -> None:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_crisis"))
    client.force_login(user)
    page = client.get(f"{LIST}{crisis.pk}/change/")
    assert page.status_code == 200 and b'id="crisis-cancel"' not in page.content
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{crisis.pk}/cancel/").status_code == 403
    assert Crisis.objects.get().cancel_requested_at is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_trigger_from_the_add_page_and_watch_it_complete(
    admin_page, live_server, background_crisis_worker, crisis_settings, screenshot
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"extract": {"delay": 2}}
    admin_page.goto(f"{live_server.url}{LIST}add/")
    admin_page.fill("#id_target", "target-alpha")
    admin_page.click("#add-mission")  # a fourth row, added by the page's script
    for i, action in enumerate(["recon", "secure", "extract", "cleanup"]):
        admin_page.fill(f"#id_missions-{i}-phase_id", f"phase-{i + 1}")
        admin_page.fill(f"#id_missions-{i}-agent_id", f"agent-{action}-{i + 1:03d}")
        admin_page.fill(f"#id_missions-{i}-action", action)
    screenshot("trigger-form")
    admin_page.click("input[name=_trigger]")
    admin_page.wait_for_url(re.compile(r"/admin/crises/crisis/[0-9a-f-]+/change/$"))
    admin_page.get_by_text("triggered.").wait_for()
    # The page follows the crisis by itself: running while "extract" takes its 2 s ...
    admin_page.wait_for_selector("#crisis-status.crisis-status-running")
    admin_page.wait_for_selector("#crisis-progress-text:text('2/4')", timeout=10_000)
    screenshot("running")
    # ... then completed, with every phase and the audit events.
    admin_page.wait_for_selector("#crisis-status.crisis-status-completed", timeout=15_000)
    assert admin_page.inner_text("#crisis-progress-text") == "4/4"
    assert admin_page.locator("#crisis-events tbody tr").count() == 6
    assert admin_page.locator("#crisis-cancel").count() == 0
    screenshot("completed")
    crisis = Crisis.objects.get()
    assert crisis.status == "completed" and crisis.initiated_by == "admin"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_cancel_a_running_crisis_from_its_page(
    admin_page, live_server, background_crisis_worker, crisis_settings, screenshot
) -> None:
    from crises import services

    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"secure": {"delay": 60}}
    # Playwright's loop runs on this thread, and the service starts workflows via async_to_sync.
    with ThreadPoolExecutor(1) as thread:
        crisis = (
            thread.submit(
                services.trigger_crisis,
                target="target-beta",
                missions=services.cli_missions("target-beta", ["recon", "secure", "extract"]),
                initiated_by="ops",
            )
            .result()
            .record
        )
    admin_page.goto(f"{live_server.url}{LIST}{crisis.pk}/change/")
    admin_page.wait_for_selector("tr[data-phase-id='phase-2'] .crisis-status-running")
    admin_page.click("#crisis-cancel")
    admin_page.get_by_text(f"Cancel requested for crisis {crisis.crisis_id}.").wait_for()
    admin_page.wait_for_selector("#crisis-status.crisis-status-cancelled", timeout=20_000)
    screenshot("cancelled")
    statuses = admin_page.locator("[data-field=status]").all_inner_texts()
    assert statuses == ["Completed", "Skipped", "Skipped"]
    assert "crisis_cancelled" in admin_page.inner_text("#crisis-events")
    assert "user:admin" in admin_page.inner_text("#crisis-events")


@pytest.mark.django_db
def test_status_labels_are_capitalised_everywhere(admin_client: Client, crisis: Crisis) -> None:
    make_crisis("crisis-bravo-2", "bravo", "partial_failure", dt.datetime.now(dt.UTC))
    listing = admin_client.get(LIST).content.decode()
    assert "Partial failure" in listing and "partial failure" not in listing
    detail = admin_client.get(f"{LIST}{crisis.pk}/change/").content.decode()
    assert re.search(r'id="crisis-status"[^>]*>Running<', detail)
    assert re.search(r'crisis-status-failed">Failed<', detail)
    data = admin_client.get(f"{LIST}{crisis.pk}/progress.json").json()
    assert data["status"] == "running" and data["status_labels"]["partial_failure"] == (
        "Partial failure"
    )
