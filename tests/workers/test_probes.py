"""`runworker --metrics-bind` and `--health-bind` on a real worker process."""

import asyncio
import json
import re
import signal
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.test import AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from aura_site import devstack
from tests.conftest import free_port, server_address
from tests.workers.sleepy import SleepyWorkflow
from tests.workers.test_runworker import WorkerProcess, wait_for_activity_start


class Probes:
    """The worker's two endpoints."""

    def __init__(self) -> None:
        self.metrics_port, self.health_port = free_port(), free_port()

    @property
    def args(self) -> list[str]:
        return [
            "--metrics-bind",
            f"127.0.0.1:{self.metrics_port}",
            "--health-bind",
            f"127.0.0.1:{self.health_port}",
        ]

    def health(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.health_port}{path}", timeout=5)

    def scrape(self) -> str:
        response = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5)
        assert response.status_code == 200
        return response.text

    async def wait_status(self, path: str, status: int, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = self.health(path)
                if response.status_code == status:
                    return response.json()
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{path} never answered {status}"
            await asyncio.sleep(0.2)


def metric_names(text: str) -> set[str]:
    """Return every family and sample name a scrape declares (`_total`, `_bucket`, ...)."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    return names


@pytest.fixture
def probed_worker(tmp_path: Path):
    started: list[WorkerProcess] = []

    def start(queue: str, *args: str) -> WorkerProcess:
        started.append(WorkerProcess(tmp_path, queue, *args))
        return started[-1]

    yield start
    for process in started:
        process.kill()


async def start_worker(probed_worker, address: str, probes: Probes) -> tuple[WorkerProcess, str]:
    queue = f"sleepy-{uuid.uuid4()}"
    worker = probed_worker(
        queue,
        "--server-address",
        address,
        "--audit-trail",
        "memory",
        "--only",
        queue,
        *probes.args,
    )
    await worker.wait_for_log(f"task_queue='{queue}'")
    return worker, queue


async def test_sdk_and_process_metrics_on_one_port_and_ready_until_draining(
    temporal_env: WorkflowEnvironment, probed_worker
) -> None:
    client, probes = temporal_env.client, Probes()
    worker, queue = await start_worker(probed_worker, server_address(client), probes)
    body = await probes.wait_status("/readyz", 200)
    assert body == {
        "status": "ok",
        "checks": {"polling": {"ok": True, "draining": False}, "temporal": {"ok": True}},
    }
    assert probes.health("/healthz").json() == {"status": "ok"}
    assert probes.health("/nowhere").status_code == 404

    await client.execute_workflow(
        SleepyWorkflow.run, 0.05, id=f"sleepy-{uuid.uuid4()}", task_queue=queue
    )
    scrape = probes.scrape()
    names = metric_names(scrape)
    for name in (
        "temporal_worker_task_slots_available",
        "temporal_num_pollers",
        "temporal_activity_schedule_to_start_latency_bucket",
        "temporal_activity_execution_latency_bucket",
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        "temporal_request_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ):
        assert name in names, name
    assert (
        f'activity_type="nap",namespace="default",service_name="temporal-core-sdk",task_queue="{queue}"'
        in scrape
    )

    # Draining: alive, but no longer ready, until the in-flight activity finished.
    workflow_id = f"sleepy-{uuid.uuid4()}"
    await client.start_workflow(SleepyWorkflow.run, 3.0, id=workflow_id, task_queue=queue)
    await wait_for_activity_start(client, workflow_id)
    worker.process.send_signal(signal.SIGTERM)
    body = await probes.wait_status("/readyz", 503, timeout=3)
    assert body["checks"]["polling"] == {"ok": False, "draining": True}
    assert probes.health("/healthz").status_code == 200
    assert await worker.wait() == 0
    assert "Worker stopped: in-flight activities drained." in worker.log


async def test_unready_while_its_temporal_server_is_down(probed_worker, tmp_path) -> None:
    server = devstack.TemporalDevServer(tmp_path, port=free_port(), ui_port=free_port())
    server.start()
    probes = Probes()
    try:
        worker, _queue = await start_worker(probed_worker, server.address, probes)
        await probes.wait_status("/readyz", 200)
        server.stop()
        body = await probes.wait_status("/readyz", 503)
        assert body["checks"]["temporal"] == {"ok": False}
        assert probes.health("/healthz").status_code == 200  # still running, retrying
        server.start()
        await probes.wait_status("/readyz", 200, timeout=30)
        worker.process.send_signal(signal.SIGTERM)
        assert await worker.wait() == 0
    finally:
        server.stop()


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "aura.json"


@pytest.mark.django_db(transaction=True)
async def test_grafana_dashboard_names_only_metrics_a_real_scrape_has(
    temporal_env: WorkflowEnvironment, probed_worker
) -> None:
    client, probes = temporal_env.client, Probes()
    worker, queue = await start_worker(probed_worker, server_address(client), probes)
    await client.execute_workflow(
        SleepyWorkflow.run, 0.05, id=f"sleepy-{uuid.uuid4()}", task_queue=queue
    )
    # A nap that always fails, retried: the SDK's failure counter appears.
    failing = await client.start_workflow(
        SleepyWorkflow.run, -1.0, id=f"sleepy-{uuid.uuid4()}", task_queue=queue
    )
    deadline = time.monotonic() + 20
    while "temporal_activity_execution_failed_total{" not in probes.scrape():
        assert time.monotonic() < deadline, "no failed activity was counted"
        await asyncio.sleep(0.2)
    await failing.terminate("enough")
    worker_scrape = probes.scrape()
    await sync_to_async(call_command)("verify_audit", stdout=open("/dev/null", "w"))  # noqa: SIM115
    web = await AsyncClient().get("/metrics")
    assert web.status_code == 200
    scraped = metric_names(worker_scrape) | metric_names(web.content.decode())

    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    referenced = set(re.findall(r"\b(?:aura|temporal|process)_[a-z0-9_]+", " ".join(expressions)))
    assert len(referenced) >= 25
    assert referenced - scraped == set()
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0


@pytest.mark.parametrize("flag", ["--metrics-bind", "--health-bind"])
async def test_a_port_in_use_is_one_clear_line(probed_worker, flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = probed_worker("sleepy", flag, f"127.0.0.1:{port}")
        assert await worker.wait() == 1
    assert f"CommandError: {flag}: cannot listen on 127.0.0.1:{port}: " in worker.log
    assert "Traceback" not in worker.log
