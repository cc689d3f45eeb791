"""`manage.py runworker` as a real process against a real Temporal server."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from audit.events import AuditEvent
from audit.trails import TemporalAuditTrail
from tests.conftest import server_address
from tests.workers.sleepy import SleepyWorkflow

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """A runworker child process whose stderr (the log) is collected to a file."""

    def __init__(self, tmp_path: Path, queue: str, *args: str) -> None:
        self.log_path = tmp_path / "worker.log"
        env = {**os.environ, "SLEEPY_QUEUE": queue, "AURA_LOG_LEVEL": "INFO"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.workers.sleepy_worker", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    async def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged; log:\n{self.log}")
            await asyncio.sleep(0.1)

    async def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"worker did not exit; log:\n{self.log}")
            await asyncio.sleep(0.1)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def worker_process(tmp_path: Path):
    started: list[WorkerProcess] = []

    def start(queue: str, *args: str) -> WorkerProcess:
        started.append(WorkerProcess(tmp_path, queue, *args))
        return started[-1]

    yield start
    for process in started:
        process.kill()


async def wait_for_activity_start(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(300):
        description = await handle.describe()
        if any(a.state == 2 for a in description.raw_description.pending_activities):  # STARTED
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the activity never started")


async def completed_activities(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED for e in history.events
    )


async def test_startup_log_lines_match_the_seed(
    temporal_env: WorkflowEnvironment, worker_process
) -> None:
    address = server_address(temporal_env.client)
    worker = worker_process(f"sleepy-{uuid.uuid4()}", "--server-address", address, "--verbose")
    await worker.wait_for_log("Worker running: namespace='default' task_queue='aura'")
    worker.process.send_signal(signal.SIGINT)
    assert await worker.wait() == 0
    log = worker.log
    assert "INFO workers.worker runworker: config resolution:\n" in log
    assert "  namespace:      'default' (from: default)\n" in log
    assert f"  server_address: '{address}' (from: CLI --server-address)\n" in log
    assert "INFO audit.trails Audit trail initialized (PostgresAuditTrail).\n" in log
    assert (
        f"INFO workers.worker Worker running: namespace='default' task_queue='aura' "
        f"server='{address}'\n" in log
    )


@pytest.mark.parametrize(("args", "sandboxed"), [((), False), (("--sandbox",), True)])
async def test_workflows_run_in_the_sandbox_only_when_asked(
    temporal_env: WorkflowEnvironment, worker_process, args: tuple[str, ...], sandboxed: bool
) -> None:
    client, queue = temporal_env.client, f"sleepy-{uuid.uuid4()}"
    worker = worker_process(
        queue, "--server-address", server_address(client), "--only", queue, *args
    )
    await worker.wait_for_log(f"task_queue='{queue}'")
    handle = await client.start_workflow(
        SleepyWorkflow.run, 0.0, id=f"sleepy-{uuid.uuid4()}", task_queue=queue
    )
    assert await handle.result() == "rested"
    assert await handle.query(SleepyWorkflow.sandboxed) is sandboxed


async def test_first_signal_drains_in_flight_activities(
    temporal_env: WorkflowEnvironment, worker_process
) -> None:
    client, queue = temporal_env.client, f"sleepy-{uuid.uuid4()}"
    worker = worker_process(
        queue,
        "--server-address",
        server_address(client),
        "--audit-trail",
        "memory",
        "--only",
        queue,
    )
    await worker.wait_for_log(f"task_queue='{queue}'")
    workflow_id = f"sleepy-{uuid.uuid4()}"
    await client.start_workflow(SleepyWorkflow.run, 2.0, id=workflow_id, task_queue=queue)
    await wait_for_activity_start(client, workflow_id)

    worker.process.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    assert "Received SIGTERM: draining in-flight activities" in worker.log
    assert "Worker stopped: in-flight activities drained." in worker.log
    assert await completed_activities(client, workflow_id) == 1


async def test_second_signal_stops_at_once(
    temporal_env: WorkflowEnvironment, worker_process
) -> None:
    client, queue = temporal_env.client, f"sleepy-{uuid.uuid4()}"
    worker = worker_process(
        queue, "--server-address", server_address(client), "--audit-trail", "memory"
    )
    await worker.wait_for_log(f"task_queue='{queue}'")
    workflow_id = f"sleepy-{uuid.uuid4()}"
    await client.start_workflow(SleepyWorkflow.run, 30.0, id=workflow_id, task_queue=queue)
    await wait_for_activity_start(client, workflow_id)

    started = time.monotonic()
    worker.process.send_signal(signal.SIGINT)
    await worker.wait_for_log("Received SIGINT: draining")
    worker.process.send_signal(signal.SIGINT)
    assert await worker.wait() == 1
    assert time.monotonic() - started < 10
    assert "Received SIGINT again: stopping now." in worker.log
    # Our own exit is one line, the last. (Whether the SDK logs the cancelled activity before
    # the process ends is a race of its own: on a loaded machine it sometimes does not.)
    assert worker.log.splitlines()[-1] == (
        "CommandError: worker stopped before in-flight activities finished"
    )
    assert await completed_activities(client, workflow_id) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--server-address", "127.0.0.1:1", "--connect-attempts", "2"],
            "CommandError: cannot reach Temporal at 127.0.0.1:1 (namespace 'default') "
            "after 2 attempts",
        ),
        (
            ["--audit-trail", "redis"],
            "CommandError: unknown audit trail 'redis': choose one of postgres, memory, "
            "sqlite:<path>, temporal",
        ),
        (
            ["--only", "no-such-queue"],
            "CommandError: no workflows or activities are registered on task queue "
            "'no-such-queue'",
        ),
    ],
)
async def test_startup_errors_are_one_clear_line(
    worker_process, args: list[str], message: str
) -> None:
    worker = worker_process("sleepy", *args)
    assert await worker.wait() == 1
    assert message in worker.log
    assert "Traceback" not in worker.log
    assert worker.log.count("CommandError") == 1


async def test_sqlite_trail_is_announced_with_its_path(
    temporal_env: WorkflowEnvironment, worker_process, tmp_path: Path
) -> None:
    path = tmp_path / "audit.db"
    worker = worker_process(
        "sleepy",
        "--server-address",
        server_address(temporal_env.client),
        "--audit-trail",
        f"sqlite:{path}",
    )
    await worker.wait_for_log("Worker running")
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    assert f"Audit trail initialized (SqliteAuditTrail at {path})." in worker.log
    assert path.exists()


async def test_temporal_trail_is_served_by_the_worker(
    temporal_env: WorkflowEnvironment, worker_process
) -> None:
    queue = f"aura-{uuid.uuid4()}"
    worker = worker_process(
        "sleepy",
        "--server-address",
        server_address(temporal_env.client),
        "--task-queue",
        queue,
        "--audit-trail",
        "temporal",
    )
    await worker.wait_for_log("Worker running")
    assert f"Audit trail initialized (TemporalAuditTrail on task queue {queue})." in worker.log

    async def client() -> Client:
        return temporal_env.client

    # The worker process hosts the epoch's audit workflow; this process only talks to Temporal.
    trail = TemporalAuditTrail(queue, client=client)
    event = AuditEvent(f"epoch-{uuid.uuid4()}", "phase_transition", "p2", "epoch", {"to": "p2"})
    await trail.record_event(event)
    assert await trail.query_events(epoch_id=event.epoch_id) == [event]
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
