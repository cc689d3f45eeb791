"""Operator actions on crises, on real servers: re-run, cancel with a reason, terminate, stuck
work."""

import asyncio
import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission, User
from django.test import Client as DjangoClient
from temporalio.client import Client, WorkflowExecutionStatus

from audit.models import AuditEvent
from crises import services
from crises.models import Crisis
from tests.crises.conftest import SEED_ACTIONS
from tests.crises.test_api import make_crisis, operator_client

URL = "/api/v1/crises/"
ADMIN = "/admin/crises/crisis/"
MISSIONS = services.cli_missions("target-ops", SEED_ACTIONS[:2])


def events(crisis_id: str) -> dict[str, AuditEvent]:
    return {
        event.event_type: event for event in AuditEvent.objects.for_subject("crisis", crisis_id)
    }


@pytest.mark.django_db(transaction=True)
async def test_rerun_links_both_ways_and_is_audited(
    temporal_settings: Client, crisis_worker
) -> None:
    api = await sync_to_async(operator_client)()
    post = sync_to_async(api.post)
    async with crisis_worker(temporal_settings):
        first = await post(URL, {"target": "target-ops", "missions": MISSIONS}, format="json")
        original = first.json()["crisis_id"]
        await sync_to_async(api.get)(f"{URL}{original}/wait/?timeout=20")

        rerun = await post(
            f"{URL}{original}/rerun/",
            {"reason": "agent fixed"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="rerun-1",
        )
        assert rerun.status_code == 201, rerun.content
        new = rerun.json()
        assert new["crisis_id"] != original and new["rerun_of"] == original
        assert new["target"] == "target-ops"
        assert [p["phase_id"] for p in new["phases"]] == ["phase-1", "phase-2"]
        repeat = await post(
            f"{URL}{original}/rerun/",
            {"reason": "agent fixed"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="rerun-1",
        )
        assert (repeat.status_code, repeat.json()["crisis_id"]) == (200, new["crisis_id"])
        other = await post(
            f"{URL}{original}/rerun/",
            {"reason": "another"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="rerun-1",
        )
        assert other.status_code == 422
        done = await sync_to_async(api.get)(f"{URL}{new['crisis_id']}/wait/?timeout=20")
    assert done.json()["status"] == "completed"
    assert (await sync_to_async(api.get)(f"{URL}{original}/")).json()["reruns"] == [
        new["crisis_id"]
    ]
    assert await Crisis.objects.acount() == 2

    original_events = await sync_to_async(events)(original)
    requested = original_events["crisis_rerun_requested"]
    assert requested.actor == "user:operator"
    assert requested.payload == {"rerun_crisis_id": new["crisis_id"], "reason": "agent fixed"}
    triggered = (await sync_to_async(events)(new["crisis_id"]))["crisis_triggered"]
    assert triggered.actor == "user:operator"
    assert triggered.payload["rerun_of"] == original
    assert triggered.payload["reason"] == "agent fixed"

    # Both admin pages show the link.
    admin = DjangoClient()
    await sync_to_async(admin.force_login)(
        await User.objects.acreate(username="root", is_staff=True, is_superuser=True)
    )
    original_pk = (await Crisis.objects.aget(crisis_id=original)).pk
    new_pk = (await Crisis.objects.aget(crisis_id=new["crisis_id"])).pk
    page = (await sync_to_async(admin.get)(f"{ADMIN}{original_pk}/change/")).content.decode()
    assert 'id="crisis-reruns"' in page and new["crisis_id"] in page
    page = (await sync_to_async(admin.get)(f"{ADMIN}{new_pk}/change/")).content.decode()
    assert 'id="crisis-rerun-of"' in page and f">{original}</a>" in page


@pytest.mark.django_db(transaction=True)
async def test_stuck_work_shows_the_retrying_mission_then_terminate_needs_its_permission(
    temporal_settings: Client, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {
        "phase-1": {"delay": 1, "fail": 99, "error": "agent unreachable"}
    }
    api = await sync_to_async(operator_client)()
    terminator = await sync_to_async(operator_client)(
        "terminator", ("view_crisis", "terminate_crisis")
    )
    admin = DjangoClient()
    await sync_to_async(admin.force_login)(
        await User.objects.acreate(username="root", is_staff=True, is_superuser=True)
    )
    async with crisis_worker(temporal_settings):
        created = await sync_to_async(api.post)(
            URL, {"target": "target-stuck", "missions": MISSIONS}, format="json"
        )
        crisis_id = created.json()["crisis_id"]
        page = ""
        for _ in range(100):  # attempt 2 starts ~3 s in, attempt 3 ~7 s in
            page = (await sync_to_async(admin.get)(f"{ADMIN}stuck/")).content.decode()
            if crisis_id in page:
                break
            await asyncio.sleep(0.1)
        assert crisis_id in page, page
        assert "perform_agent_mission" in page and "agent unreachable" in page
        assert "Checked the 1 oldest of 1 running" in page
        assert '<td class="stuck-attempt">2 of 3</td>' in page or "3 of 3" in page

        terminate = sync_to_async(
            lambda client, body: client.post(f"{URL}{crisis_id}/terminate/", body, format="json")
        )
        assert (await terminate(api, {"reason": "stuck"})).status_code == 403
        missing_reason = await terminate(terminator, {})
        assert missing_reason.status_code == 400
        assert "reason" in missing_reason.json()["errors"]
        response = await terminate(terminator, {"reason": "agent is gone for good"})
        assert response.status_code == 200, response.content
        record = response.json()
        assert record["status"] == "failed"
        assert record["error"] == "terminated by user:terminator: agent is gone for good"
        assert {p["status"] for p in record["phases"]} == {"skipped"}
        again = await terminate(terminator, {"reason": "twice"})
        assert again.status_code == 409 and again.json()["title"] == "Conflict"
        page = (await sync_to_async(admin.get)(f"{ADMIN}stuck/")).content.decode()
        assert crisis_id not in page and "Nothing is stuck." in page

    description = await temporal_settings.get_workflow_handle(
        f"crisis-workflow-{crisis_id}"
    ).describe()
    assert description.status == WorkflowExecutionStatus.TERMINATED
    recorded = await sync_to_async(events)(crisis_id)
    assert recorded["crisis_terminated"].actor == "user:terminator"
    assert recorded["crisis_terminated"].payload == {
        "reason": "agent is gone for good",
        "workflow_found": True,
    }
    assert recorded["crisis_finalized"].payload["status"] == "failed"


@pytest.mark.django_db(transaction=True)
async def test_cancel_with_a_reason_is_audited(
    temporal_settings: Client, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"phase-1": {"delay": 60}}
    api = await sync_to_async(operator_client)()
    async with crisis_worker(temporal_settings):
        created = await sync_to_async(api.post)(
            URL, {"target": "target-cancel", "missions": MISSIONS}, format="json"
        )
        url = f"{URL}{created.json()['crisis_id']}/"
        cancel = await sync_to_async(api.post)(
            f"{url}cancel/", {"reason": "wrong target"}, format="json"
        )
        assert cancel.status_code == 202, cancel.content
        done = await sync_to_async(api.get)(f"{url}wait/?timeout=20")
    assert done.json()["status"] == "cancelled"
    recorded = await sync_to_async(events)(created.json()["crisis_id"])
    assert recorded["crisis_cancel_requested"].payload == {"reason": "wrong target"}
    assert recorded["crisis_cancel_requested"].actor == "user:operator"


@pytest.mark.django_db
def test_operator_actions_on_ended_crises_and_permissions() -> None:
    make_crisis("crisis-done-1", "alpha", "completed", dt.datetime.now(dt.UTC))
    make_crisis("crisis-live-2", "alpha", "running", dt.datetime.now(dt.UTC))
    everything = operator_client(
        "boss", ("view_crisis", "add_crisis", "change_crisis", "terminate_crisis")
    )
    for verb, body in (("cancel", {}), ("terminate", {"reason": "x"})):
        ended = everything.post(f"{URL}crisis-done-1/{verb}/", body, format="json")
        assert ended.status_code == 409, (verb, ended.content)
        assert ended["Content-Type"] == "application/problem+json"
        assert "already ended" in ended.json()["detail"]

    viewer = operator_client("viewer", perms=())
    assert viewer.post(f"{URL}crisis-live-2/rerun/", {}, format="json").status_code == 403
    assert viewer.post(f"{URL}crisis-live-2/terminate/", {"reason": "x"}).status_code == 403
    changer = operator_client("changer", ("view_crisis", "change_crisis"))
    assert changer.post(f"{URL}crisis-live-2/terminate/", {"reason": "x"}).status_code == 403
    # Acting on a record returns it: without the view permission, no re-run either.
    blind = operator_client("blind", ("add_crisis",))
    assert blind.post(f"{URL}crisis-live-2/rerun/", {}, format="json").status_code == 403
    too_long = everything.post(f"{URL}crisis-live-2/cancel/", {"reason": "x" * 501}, format="json")
    assert too_long.status_code == 400 and "reason" in too_long.json()["errors"]
    assert everything.post(f"{URL}crisis-nope-9/terminate/", {"reason": "x"}).status_code == 404
    assert Crisis.objects.get(crisis_id="crisis-live-2").status == "running"
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_stuck_work_page_when_temporal_is_down(admin_client: DjangoClient, settings) -> None:
    from aura_site import temporal

    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"  # nothing listens there
    temporal.set_client(None)
    make_crisis("crisis-live-1", "alpha", "running", dt.datetime.now(dt.UTC))
    response = admin_client.get(f"{ADMIN}stuck/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="stuck-error"' in page and "Temporal cannot be reached" in page
    assert "Checked the 1 oldest of 1 running" in page
    assert 'id="stuck-work-link"' in admin_client.get(ADMIN).content.decode()


@pytest.mark.django_db
def test_terminate_button_needs_the_permission(client: DjangoClient) -> None:
    crisis = make_crisis("crisis-live-1", "alpha", "running", dt.datetime.now(dt.UTC))
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_crisis", "change_crisis", "add_crisis"])
    )
    client.force_login(user)
    page = client.get(f"{ADMIN}{crisis.pk}/change/").content.decode()
    assert 'id="crisis-cancel"' in page and 'id="crisis-rerun"' in page
    assert 'id="crisis-terminate"' not in page
    assert client.post(f"{ADMIN}{crisis.pk}/terminate/", {"reason": "x"}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="terminate_crisis"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    assert 'id="crisis-terminate"' in client.get(f"{ADMIN}{crisis.pk}/change/").content.decode()
    refused = client.post(f"{ADMIN}{crisis.pk}/terminate/", {"reason": ""}, follow=True)
    assert "A reason is required to terminate" in refused.content.decode()
    assert Crisis.objects.get().status == "running"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_bulk_cancel_in_the_browser(
    admin_page, live_server, background_crisis_worker, crisis_settings, screenshot
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"recon": {"delay": 60}}
    # Playwright's loop runs on this thread, and the service starts workflows via run_sync.
    with ThreadPoolExecutor(1) as thread:
        running = (
            thread.submit(
                services.trigger_crisis,
                target="target-live",
                missions=MISSIONS,
                initiated_by="ops",
            )
            .result()
            .record
        )
    ended = make_crisis("crisis-old-1", "target-old", "completed", dt.datetime.now(dt.UTC))

    admin_page.goto(f"{live_server.url}{ADMIN}")
    for crisis in (running, ended):
        admin_page.check(f"input[name=_selected_action][value='{crisis.pk}']")
    admin_page.select_option("select[name=action]", "cancel_selected")
    admin_page.click("button[name=index]")
    admin_page.wait_for_selector("#bulk-plan")
    plan = admin_page.inner_text("#bulk-plan")
    assert f"{running.crisis_id}\tRunning\twill be cancelled" in plan
    assert "crisis-old-1\tCompleted\talready ended (Completed) — skipped" in plan
    admin_page.fill("#id_reason", "wrong target list")
    screenshot("confirm")
    assert Crisis.objects.get(pk=running.pk).cancel_requested_at is None

    admin_page.click("#bulk-confirm")
    admin_page.wait_for_selector("#bulk-results")
    admin_page.get_by_text("Cancel crises: 1 done, 1 skipped, 0 failed.").wait_for()
    results = admin_page.inner_text("#bulk-results")
    assert f"{running.crisis_id}\tdone\tcancel requested" in results
    assert "crisis-old-1\tskipped\talready ended (Completed) — skipped" in results
    screenshot("results")
    requested = AuditEvent.objects.for_subject("crisis", running.crisis_id).get(
        event_type="crisis_cancel_requested"
    )
    assert (requested.actor, requested.payload) == ("user:admin", {"reason": "wrong target list"})
    admin_page.click("#back-to-list")
    admin_page.wait_for_selector("#result_list")
    for _ in range(100):
        if Crisis.objects.get(pk=running.pk).status == "cancelled":
            break
        admin_page.wait_for_timeout(100)
    assert Crisis.objects.get(pk=running.pk).status == "cancelled"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_stuck_work_terminate_and_rerun_in_the_browser(
    admin_page, live_server, background_crisis_worker, crisis_settings, screenshot
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"recon": {"delay": 1, "fail": 99, "error": "no route"}}
    with ThreadPoolExecutor(1) as thread:
        crisis = (
            thread.submit(
                services.trigger_crisis,
                target="target-stuck",
                missions=MISSIONS,
                initiated_by="ops",
            )
            .result()
            .record
        )

    admin_page.goto(f"{live_server.url}{ADMIN}")
    admin_page.click("#stuck-work-link")
    for _ in range(60):
        if admin_page.locator(f"#stuck-work tr[data-record='{crisis.crisis_id}']").count():
            break
        admin_page.wait_for_timeout(200)
        admin_page.reload()
    row = admin_page.inner_text(f"#stuck-work tr[data-record='{crisis.crisis_id}']")
    assert "perform_agent_mission" in row and "no route" in row
    assert " of 3" in row
    screenshot("stuck-work")

    admin_page.click(f"#stuck-work a:text('{crisis.crisis_id}')")
    admin_page.fill("#crisis-terminate-reason", "agent retired")
    admin_page.click("#crisis-terminate")
    admin_page.get_by_text(f"Crisis {crisis.crisis_id} terminated.").wait_for()
    assert admin_page.inner_text("#crisis-status") == "Failed"
    assert admin_page.inner_text("#crisis-error") == "terminated by user:admin: agent retired"
    assert "crisis_terminated" in admin_page.inner_text("#crisis-events")
    screenshot("terminated")

    admin_page.fill("#crisis-rerun-reason", "agent replaced")
    admin_page.click("#crisis-rerun")
    admin_page.wait_for_selector("#crisis-rerun-of")
    assert admin_page.inner_text("#crisis-rerun-of") == crisis.crisis_id
    screenshot("rerun")
    rerun = Crisis.objects.get(rerun_of=crisis)
    admin_page.click("#crisis-rerun-of a")
    admin_page.wait_for_selector("#crisis-reruns")
    assert rerun.crisis_id in admin_page.inner_text("#crisis-reruns")
    assert "crisis_rerun_requested" in admin_page.inner_text("#crisis-events")
    assert "agent replaced" in admin_page.inner_text("#crisis-events")
    screenshot("original")
    with ThreadPoolExecutor(1) as thread:  # the re-run is stuck too: stop it
        thread.submit(
            services.terminate_crisis, rerun, actor="user:admin", reason="test over"
        ).result()


@pytest.mark.django_db
def test_bulk_rerun_confirms_then_links_each_new_crisis(
    admin_client: DjangoClient, settings
) -> None:
    from aura_site import temporal

    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"  # the re-runs are recorded and wait to start
    temporal.set_client(None)
    first = make_crisis("crisis-a-1", "alpha", "failed", dt.datetime.now(dt.UTC))
    second = make_crisis("crisis-b-2", "bravo", "completed", dt.datetime.now(dt.UTC))
    selected = {"action": "rerun_selected", "_selected_action": [first.pk, second.pk]}
    page = admin_client.post(ADMIN, {**selected, "index": 0}).content.decode()
    assert "Re-run crises?" in page
    assert page.count("will be re-run as a new crisis") == 2
    assert "delete_selected" not in admin_client.get(ADMIN).content.decode()
    assert Crisis.objects.count() == 2

    page = admin_client.post(ADMIN, {**selected, "reason": "", "confirm": "Yes"}).content.decode()
    assert "Re-run crises: 2 done, 0 skipped, 0 failed." in page
    for original in (first, second):
        rerun = Crisis.objects.get(rerun_of=original)
        assert f"re-run as {rerun.crisis_id}" in page
        assert rerun.target == original.target and rerun.status == "initiated"
        assert [p.phase_id for p in rerun.phases.all()] == ["p1"]
