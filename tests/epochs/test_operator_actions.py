"""Operator actions on epochs, on real servers: cancel and terminate (REST, admin, bulk)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client as DjangoClient
from temporalio.client import WorkflowExecutionStatus

from audit.models import AuditEvent
from aura_site import temporal
from aura_site.runs.models import StartIntent
from epochs import services
from epochs.models import Epoch
from tests.epochs.test_api import PERMISSIONS, call, configured, make_client  # noqa: F401

ADMIN = "/admin/epochs/epoch/"


async def closed_status(client, epoch_id: str) -> WorkflowExecutionStatus:
    handle = client.get_workflow_handle(epoch_id)
    for _ in range(100):
        status = (await handle.describe()).status
        if status != WorkflowExecutionStatus.RUNNING:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{epoch_id} still running")


def event(epoch_id: str, event_type: str) -> AuditEvent:
    return AuditEvent.objects.for_subject("epoch", epoch_id).get(event_type=event_type)


@pytest.mark.django_db(transaction=True)
async def test_cancel_and_terminate_over_the_api(configured, epoch_worker, task_queue) -> None:  # noqa: F811
    starter = await sync_to_async(make_client)()
    operator = await sync_to_async(make_client)(
        "operator", ["view_epoch", "cancel_epoch", "terminate_epoch"]
    )
    async with epoch_worker(configured, task_queue):
        for epoch_id in ("e-cancel", "e-stop"):
            body = {"epoch_id": epoch_id, "request_description": "x"}
            assert (await call(starter, "post", "", body)).status_code == 201

        assert (await call(starter, "post", "e-cancel/cancel/", {})).status_code == 403
        cancelled = await call(operator, "post", "e-cancel/cancel/", {"reason": "duplicate"})
        assert cancelled.status_code == 200, cancelled.content
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["last_error"] == "cancelled by user:operator: duplicate"
        assert await closed_status(configured, "e-cancel") == WorkflowExecutionStatus.CANCELED

        refused = await call(starter, "post", "e-stop/terminate/", {"reason": "stuck"})
        assert refused.status_code == 403
        no_reason = await call(operator, "post", "e-stop/terminate/", {"reason": " "})
        assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
        terminated = await call(operator, "post", "e-stop/terminate/", {"reason": "stuck"})
        assert terminated.status_code == 200, terminated.content
        assert terminated.json()["status"] == "failed"
        assert terminated.json()["last_error"] == "terminated by user:operator: stuck"
        assert await closed_status(configured, "e-stop") == WorkflowExecutionStatus.TERMINATED

        for verb in ("cancel", "terminate"):
            ended = await call(operator, "post", f"e-cancel/{verb}/", {"reason": "again"})
            assert ended.status_code == 409
            assert "already ended (Cancelled)" in ended.json()["detail"]
        # A look at the cancelled epoch does not turn it into "failed".
        detail = (await call(starter, "get", "e-cancel/")).json()
        assert detail["status"] == "cancelled"

    cancel_event = await sync_to_async(event)("e-cancel", "epoch_cancelled")
    assert cancel_event.actor == "user:operator"
    assert cancel_event.payload == {
        "error": "cancelled by user:operator: duplicate",
        "reason": "duplicate",
        "workflow_found": True,
    }
    terminate_event = await sync_to_async(event)("e-stop", "epoch_terminated")
    assert terminate_event.actor == "user:operator"
    assert terminate_event.payload["reason"] == "stuck"
    assert not await AuditEvent.objects.filter(event_type="epoch_failed").aexists()


@pytest.mark.django_db
def test_cancel_an_epoch_still_waiting_to_start(settings) -> None:
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"  # nothing listens: the start stays pending
    temporal.set_client(None)
    started = services.start_epoch(request_description="x", epoch_id="e-pending")
    assert started.start is not None and started.start.pending
    epoch = services.cancel_epoch(started.record, actor="user:ops", reason="not needed")
    assert (epoch.status, epoch.last_error) == ("cancelled", "cancelled by user:ops: not needed")
    intent = StartIntent.objects.get(workflow_id="e-pending")
    assert intent.state == StartIntent.State.FAILED
    assert event("e-pending", "epoch_cancelled").payload["workflow_found"] is False
    assert not AuditEvent.objects.filter(event_type="epoch_failed").exists()


@pytest.mark.django_db(transaction=True)
def test_bulk_cancel_confirms_then_reports_each_epoch(worker_thread) -> None:
    admin = DjangoClient()
    admin.force_login(User.objects.create_superuser("root", password="pw"))
    running = services.start_epoch(request_description="x", epoch_id="e-run").record
    ended = Epoch.objects.create(epoch_id="e-done", status=Epoch.Status.COMPLETE)
    selected = {"action": "cancel_selected", "_selected_action": [running.pk, ended.pk]}

    confirm = admin.post(ADMIN, {**selected, "index": 0})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Cancel epochs?" in page
    assert "will be cancelled" in page and "already ended (Complete) — skipped" in page
    assert Epoch.objects.get(pk=running.pk).status == "running"  # nothing happened yet

    results = admin.post(ADMIN, {**selected, "reason": "release frozen", "confirm": "Yes"})
    page = results.content.decode()
    assert "Cancel epochs: 1 done, 1 skipped, 0 failed." in page
    assert 'class="run-outcome-done">done' in page and 'run-outcome-skipped">skipped' in page
    assert Epoch.objects.get(pk=running.pk).status == "cancelled"
    assert event("e-run", "epoch_cancelled").payload["reason"] == "release frozen"
    assert Epoch.objects.get(pk=ended.pk).status == "complete"

    stuck = admin.get(f"{ADMIN}stuck/").content.decode()
    assert "Nothing is stuck." in stuck and "Checked the 0 oldest of 0 running" in stuck
    assert 'id="stuck-work-link"' in admin.get(ADMIN).content.decode()


@pytest.mark.django_db
def test_epoch_buttons_and_bulk_action_need_their_permissions(client: DjangoClient) -> None:
    from django.contrib.auth.models import Permission

    epoch = Epoch.objects.create(epoch_id="e-1", status=Epoch.Status.RUNNING)
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_epoch"))
    client.force_login(user)
    assert "cancel_selected" not in client.get(ADMIN).content.decode()
    assert client.post(f"{ADMIN}{epoch.pk}/cancel/", {"reason": ""}).status_code == 403
    assert client.post(f"{ADMIN}{epoch.pk}/terminate/", {"reason": "x"}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="cancel_epoch"))
    client.force_login(User.objects.get(pk=user.pk))
    assert "cancel_selected" in client.get(ADMIN).content.decode()
    assert client.post(f"{ADMIN}{epoch.pk}/terminate/", {"reason": "x"}).status_code == 403
    assert Epoch.objects.get().status == "running"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_cancel_from_the_epoch_page_in_the_browser(
    admin_page, live_server, worker_thread, screenshot
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs on this thread
        epoch = (
            thread.submit(
                services.start_epoch, request_description="dark mode", epoch_id="e-browser"
            )
            .result()
            .record
        )
    admin_page.goto(f"{live_server.url}{ADMIN}{epoch.pk}/change/")
    admin_page.wait_for_selector("#epoch-terminate")
    screenshot("running")
    admin_page.fill("#epoch-cancel-reason", "superseded by e-2")
    admin_page.click("#epoch-cancel")
    admin_page.get_by_text("Epoch e-browser cancelled.").wait_for()
    assert admin_page.inner_text("#epoch-status") == "Cancelled"
    assert admin_page.locator("#epoch-cancel").count() == 0
    assert "epoch_cancelled" in admin_page.inner_text("#audit-events")
    assert "superseded by e-2" in admin_page.inner_text("#epoch-last-error")
    screenshot("cancelled")


@pytest.mark.django_db
def test_a_move_recorded_after_a_cancel_does_not_reopen_the_epoch() -> None:
    from django.utils import timezone

    from epochs import records
    from epochs.inputs import RecordTransitionInput
    from epochs.protocol import PhaseId
    from epochs.state_machine import TransitionRecord

    epoch = Epoch.objects.create(epoch_id="e-late", status=Epoch.Status.CANCELLED)
    move = TransitionRecord(PhaseId.P1_Request, PhaseId.P2_Elicit, timezone.now(), "ops", "ok")
    records.save_transition(RecordTransitionInput("e-late", 0, move, PhaseId.P2_Elicit, "running"))
    epoch.refresh_from_db()
    assert epoch.status == "cancelled" and epoch.transitions.count() == 1
