"""Durable starts: a request Temporal cannot take now is kept and started later, exactly once."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient
from temporalio.client import Client

from audit.activities import init_audit_trail
from audit.models import AuditEvent
from audit.trails import PostgresAuditTrail
from aura_site import devstack, temporal
from aura_site.runs import outbox
from aura_site.runs.models import StartIntent
from aura_site.runs.reconciler import reconcile_once, run_reconciler
from crises import services as crisis_services
from crises.activities import ACTIVITIES as CRISIS_ACTIVITIES
from crises.models import Crisis, CrisisStatus
from crises.workflows import CrisisResponseWorkflow
from epochs import services as epoch_services
from epochs.models import Epoch
from tests.conftest import database_url, free_port, server_address
from tests.epochs.conftest import ALL_ACTIVITIES as EPOCH_AND_AUDIT_ACTIVITIES
from tests.epochs.conftest import WORKFLOWS as EPOCH_WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
MISSION = {"phase_id": "p1", "agent_id": "a1", "action": "recon", "target": "t"}


def superuser_client() -> APIClient:
    user = User.objects.create_superuser("root", password="pw")
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def temporal_down(settings: Any) -> int:
    """Point the app at a port where no Temporal listens (yet); return the port."""
    port = free_port()
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{port}"
    temporal.set_client(None)
    yield port
    temporal.set_client(None)


@pytest.mark.django_db(transaction=True)
async def test_temporal_down_is_202_and_work_runs_once_it_is_back(
    temporal_down: int, settings: Any, run_worker: Any, task_queue: str
) -> None:
    settings.CRISIS_TASK_QUEUE = task_queue
    settings.TEMPORAL_TASK_QUEUE = task_queue
    settings.CRISIS_AGENT_DISPATCHER = "log"
    api = await sync_to_async(superuser_client)()
    crisis_answer = await sync_to_async(api.post)(
        "/api/v1/crises/", {"target": "target-down", "missions": [MISSION]}, format="json"
    )
    epoch_answer = await sync_to_async(api.post)(
        "/api/v1/epochs/", {"request_description": "while down"}, format="json"
    )
    assert crisis_answer.status_code == 202, crisis_answer.json()
    assert epoch_answer.status_code == 202, epoch_answer.json()
    crisis, epoch = crisis_answer.json(), epoch_answer.json()
    assert crisis["status"] == "initiated" and epoch["status"] == "initiated"
    assert crisis["start"]["state"] == epoch["start"]["state"] == "pending"
    assert "cannot reach Temporal" in crisis["start"]["last_error"]

    init_audit_trail(PostgresAuditTrail())
    stop = asyncio.Event()
    reconciler = asyncio.create_task(run_reconciler(None, stop))  # while down: retries
    await asyncio.sleep(2)
    env = await devstack.start_local_environment(temporal.search_attributes(), port=temporal_down)
    try:
        ready = time.monotonic()
        async with run_worker(
            env.client,
            task_queue,
            workflows=[CrisisResponseWorkflow, *EPOCH_WORKFLOWS],
            activities=[*CRISIS_ACTIVITIES, *EPOCH_AND_AUDIT_ACTIVITIES],
        ):
            while await StartIntent.objects.filter(state="pending").aexists():
                assert time.monotonic() - ready < 5, "not started within 5 s of Temporal's return"
                await asyncio.sleep(0.1)
            record = await sync_to_async(Crisis.objects.get)(crisis_id=crisis["crisis_id"])
            record, done = await sync_to_async(crisis_services.wait_for_crisis)(record, timeout=20)
            assert done and record.status == CrisisStatus.COMPLETED
            moved = await sync_to_async(api.post)(
                f"/api/v1/epochs/{epoch['epoch_id']}/advance/", {"to_phase": "p2"}, format="json"
            )
            assert moved.status_code == 200, moved.json()
            assert moved.json()["current_phase"] == "p2"
            assert moved.json()["status"] == "running" and moved.json()["run_id"]
    finally:
        stop.set()
        await reconciler
        temporal.set_client(None)
        init_audit_trail(None)
        await env.shutdown()


@pytest.mark.django_db(transaction=True)
def test_a_pending_crisis_can_be_cancelled_without_temporal(temporal_down: int) -> None:
    api = superuser_client()
    answer = api.post(
        "/api/v1/crises/", {"target": "target-down", "missions": [MISSION]}, format="json"
    )
    assert answer.status_code == 202
    cancelled = api.post(f"/api/v1/crises/{answer.json()['crisis_id']}/cancel/")
    assert cancelled.status_code == 202, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert StartIntent.objects.get().state == "failed"
    assert reconcile_now().tried == 0


def reconcile_now(**options: Any):
    return temporal.run_sync(reconcile_once(**options))


@pytest.mark.django_db(transaction=True)
async def test_an_intent_whose_fast_path_never_ran_is_started_by_the_reconciler(
    temporal_settings: Client, crisis_worker: Any
) -> None:
    # The process "died" right after the commit: the intent is recorded, nothing started.
    trigger = await sync_to_async(crisis_services.record_crisis)(
        target="target-crash", missions=crisis_services.cli_missions("target-crash", ["recon"])
    )
    assert (await reconcile_once()).tried == 0  # the fast path's grace period
    await StartIntent.objects.aupdate(next_attempt_at=timezone.now())
    report = await reconcile_once()
    assert report.started == [trigger.record.workflow_id]
    async with crisis_worker(temporal_settings):
        crisis, done = await sync_to_async(crisis_services.wait_for_crisis)(
            trigger.record, timeout=20
        )
    assert done and crisis.status == CrisisStatus.COMPLETED, (crisis.status, crisis.error)
    # A second pass finds nothing, and a start replayed by hand is recognised as ours.
    assert (await reconcile_once(due_only=False)).tried == 0
    intent = await StartIntent.objects.aget()
    again = await outbox.attempt(intent)
    assert again.started and again.run_id == intent.run_id


@pytest.mark.django_db(transaction=True)
def test_start_pending_command_starts_what_is_pending(
    temporal_settings: Client, crisis_settings: Any, capsys: Any
) -> None:
    trigger = crisis_services.record_crisis(
        target="target-ops", missions=crisis_services.cli_missions("target-ops", ["recon"])
    )
    call_command("start_pending", "--dry-run")
    assert "1 pending start(s)" in capsys.readouterr().out
    call_command("start_pending")
    out = capsys.readouterr().out
    assert f"started  {trigger.record.workflow_id}" in out
    assert "1 started, 0 still pending, 0 failed" in out
    assert StartIntent.objects.get().state == "started"


@pytest.mark.django_db(transaction=True)
def test_a_start_given_up_fails_the_record_with_a_clear_error(
    temporal_down: int, settings: Any
) -> None:
    crisis = crisis_services.trigger_crisis(
        target="target-late", missions=crisis_services.cli_missions("target-late", ["recon"])
    ).record
    epoch = epoch_services.start_epoch(request_description="late").record
    StartIntent.objects.update(next_attempt_at=timezone.now(), give_up_at=timezone.now())
    report = reconcile_now()
    assert sorted(report.failed) == sorted([crisis.workflow_id, epoch.epoch_id])
    crisis.refresh_from_db()
    epoch.refresh_from_db()
    assert crisis.status == CrisisStatus.FAILED and epoch.status == Epoch.Status.FAILED
    for error in (crisis.error, epoch.last_error):
        assert error.startswith("could not start: could not start the workflow within 3600 s")
        assert "cannot reach Temporal" in error
    assert AuditEvent.objects.filter(
        subject_id=crisis.crisis_id, event_type="crisis_finalized", payload__status="failed"
    ).exists()
    assert AuditEvent.objects.filter(subject_id=epoch.epoch_id, event_type="epoch_failed").exists()
    assert StartIntent.objects.filter(state="failed").count() == 2


@pytest.mark.django_db(transaction=True)
async def test_an_epoch_id_another_workflow_has_is_refused_and_recorded_failed(
    temporal_settings: Client, task_queue: str
) -> None:
    await temporal_settings.start_workflow(
        "SomeoneElsesWorkflow", id="epoch-taken", task_queue=task_queue
    )
    api = await sync_to_async(superuser_client)()
    answer = await sync_to_async(api.post)(
        "/api/v1/epochs/", {"request_description": "x", "epoch_id": "epoch-taken"}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["type"].endswith("/start-refused")
    assert "another workflow with id 'epoch-taken' already exists" in answer.json()["detail"]
    epoch = await Epoch.objects.aget(epoch_id="epoch-taken")
    assert epoch.status == Epoch.Status.FAILED
    await temporal_settings.get_workflow_handle("epoch-taken").terminate()


@pytest.mark.django_db(transaction=True)
async def test_a_crisis_id_a_lost_record_left_in_temporal_is_refused_and_recorded_failed(
    temporal_settings: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Records restored from a backup, and a clock set back into a second whose crisis the
    # backup lost: the trigger picks that crisis's id, which Temporal still has (closed).
    monkeypatch.setattr(
        crisis_services.starting, "base_crisis_id", lambda target: "crisis-target-lost-17"
    )
    lost = await temporal_settings.start_workflow(
        "SomeoneElsesWorkflow", id="crisis-workflow-crisis-target-lost-17", task_queue=task_queue
    )
    await lost.terminate()
    api = await sync_to_async(superuser_client)()
    answer = await sync_to_async(api.post)(
        "/api/v1/crises/", {"target": "target-lost", "missions": [MISSION]}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["type"].endswith("/start-refused")
    assert (
        "another workflow with id 'crisis-workflow-crisis-target-lost-17' already exists"
        in answer.json()["detail"]
    )
    crisis = await Crisis.objects.aget(crisis_id="crisis-target-lost-17")
    assert crisis.status == CrisisStatus.FAILED
    assert "already exists" in crisis.error
    # The lost crisis's workflow is left as it was: its history is all that remains of it.
    assert (await lost.describe()).run_id == lost.result_run_id


@pytest.mark.django_db(transaction=True)
async def test_two_runworker_processes_start_fifty_pending_intents_once_each(
    temporal_settings: Client, crisis_settings: Any, tmp_path: Path
) -> None:
    missions = crisis_services.cli_missions("target-many", ["recon"])
    for _ in range(50):
        await sync_to_async(crisis_services.record_crisis)(target="target-many", missions=missions)
    await StartIntent.objects.aupdate(next_attempt_at=timezone.now())
    env = {
        **os.environ,
        "CRISIS_TASK_QUEUE": crisis_settings.CRISIS_TASK_QUEUE,
        "DATABASE_URL": await sync_to_async(database_url)(),
        "AURA_LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "manage.py", "runworker", "--only", env["CRISIS_TASK_QUEUE"]]
    command += ["--server-address", server_address(temporal_settings), "--audit-trail", "memory"]
    logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
    processes = []
    for log_path in logs:
        with open(log_path, "wb") as log:
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
    try:
        deadline = time.monotonic() + 60
        while await Crisis.objects.exclude(status=CrisisStatus.COMPLETED).aexists():
            assert time.monotonic() < deadline, [p.read_text()[-2000:] for p in logs]
            await asyncio.sleep(0.2)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
    assert await StartIntent.objects.filter(state="started").acount() == 50
    async for intent in StartIntent.objects.all():
        runs = [
            run
            async for run in temporal_settings.list_workflows(
                f"WorkflowId = '{intent.workflow_id}'"
            )
        ]
        assert [run.run_id for run in runs] == [intent.run_id]
    assert await AuditEvent.objects.filter(event_type="crisis_finalized").acount() == 50


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_shows_a_trigger_waiting_to_start(
    temporal_down: int, admin_page: Any, live_server: Any, screenshot: Any
) -> None:
    admin_page.goto(f"{live_server.url}/admin/crises/crisis/add/")
    admin_page.fill("#id_target", "target-down")
    admin_page.fill("#id_missions-0-phase_id", "phase-1")
    admin_page.fill("#id_missions-0-agent_id", "agent-recon-001")
    admin_page.fill("#id_missions-0-action", "recon")
    admin_page.click("input[name=_trigger]")
    admin_page.get_by_text("waiting to start: Temporal cannot take it now").wait_for()
    badge = admin_page.locator("h2 .start-pending")
    assert badge.inner_text() == "waiting to start (attempt 1)"
    assert "cannot reach Temporal" in badge.get_attribute("title")
    screenshot("detail")
    admin_page.goto(f"{live_server.url}/admin/crises/crisis/")
    row = admin_page.locator("#result_list tbody tr").first
    assert "Initiated" in row.inner_text() and "waiting to start" in row.inner_text()
    screenshot("list")

    admin_page.goto(f"{live_server.url}/admin/epochs/epoch/add/")
    admin_page.fill("#id_request_description", "while down")
    admin_page.click("input[type=submit]")
    admin_page.get_by_text("waiting to start: Temporal cannot take it now").wait_for()
    assert admin_page.locator("#epoch-status + .start-pending").count() == 1
    admin_page.goto(f"{live_server.url}/admin/epochs/epoch/")
    assert "waiting to start" in admin_page.locator("#result_list tbody tr").first.inner_text()
    screenshot("epochs")
