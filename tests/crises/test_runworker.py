"""`manage.py runworker` serves the crisis queue: the seed's log lines, and a crisis end to end."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from crises import services
from crises.activities import ACTIVITIES, SCHEDULE_ACTIVITIES
from crises.apps import log_worker_start
from crises.models import Crisis
from crises.workflows import CrisisResponseWorkflow, ScheduledCrisisWorkflow
from tests.conftest import database_url, server_address
from workers import registry

ROOT = Path(__file__).resolve().parents[2]


def test_crisis_queue_is_registered(settings) -> None:
    settings.CRISIS_TASK_QUEUE = "liara-crisis-tasks"
    (crisis,) = [reg for reg in registry.registered_queues() if reg.key == "crisis"]
    assert crisis.name("aura") == "liara-crisis-tasks"
    # The seed's workflow and five activities, then the firings of crisis schedules.
    assert crisis.workflows == [CrisisResponseWorkflow, ScheduledCrisisWorkflow]
    assert crisis.activities == [*ACTIVITIES, *SCHEDULE_ACTIVITIES] and len(ACTIVITIES) == 5
    assert crisis.on_start == [log_worker_start]


@pytest.mark.django_db(transaction=True)
async def test_runworker_serves_crises(temporal_settings, crisis_settings, tmp_path) -> None:
    queue = crisis_settings.CRISIS_TASK_QUEUE
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "CRISIS_TASK_QUEUE": queue,
        "DATABASE_URL": await sync_to_async(database_url)(),
        "AURA_LOG_LEVEL": "INFO",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runworker", "--only", queue]
            + ["--server-address", server_address(temporal_settings), "--audit-trail", "memory"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while f"task_queue='{queue}'" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            await asyncio.sleep(0.1)
        trigger = await sync_to_async(services.trigger_crisis)(
            target="target-alpha", missions=services.cli_missions("target-alpha", ["recon"])
        )
        crisis, done = await sync_to_async(services.wait_for_crisis)(trigger.record, timeout=20)
        assert done and crisis.status == "completed", log_path.read_text()[-3000:]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    log = log_path.read_text()
    assert "Liara worker created with 1 workflows and 5 activities" in log
    assert f"Task queue: {queue}\n" in log
    assert "AGENT DEPLOYMENT - Phase: phase-1 | Agent: agent-recon-001 | Action: recon" in log
    assert await Crisis.objects.acount() == 1
