"""`manage.py up`: the whole app from nothing, stopped cleanly, data kept for the next run."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from aura_site import devstack
from epochs.search_attributes import DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Up:
    """`manage.py up` in its own state directory, on free ports."""

    def __init__(self, state_dir: Path, **env: str) -> None:
        self.state_dir = state_dir
        self.env = env
        self.web, self.grpc, self.ui = free_port(), free_port(), free_port()
        self.output = state_dir.parent / f"up-{time.monotonic_ns()}.log"

    def start(self) -> subprocess.Popen:
        env = {
            k: v
            for k, v in os.environ.items()
            if k
            not in ("DATABASE_URL", "TEMPORAL_ADDRESS", "AURA_ADMIN_USER", "AURA_ADMIN_PASSWORD")
        }
        env["AURA_STATE_DIR"] = str(self.state_dir)
        env.update(self.env)
        with open(self.output, "wb") as out:
            return subprocess.Popen(
                [sys.executable, "manage.py", "up", "--port", str(self.web), "--web-workers", "1"]
                + ["--temporal-port", str(self.grpc), "--temporal-ui-port", str(self.ui)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.output.read_text()

    def wait_until_running(self, process: subprocess.Popen, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while "Aura is running." not in self.log or "Worker running" not in self.log:
            assert process.poll() is None, self.log
            assert time.monotonic() < deadline, self.log
            time.sleep(0.2)

    def stop(self, process: subprocess.Popen, signum: int = signal.SIGINT) -> int:
        process.send_signal(signum)
        try:
            return process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def alive(pid: int) -> bool:
    """Return whether `pid` runs (a zombie waits only for a parent outside our control)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postmaster_pid(state_dir: Path) -> int | None:
    pid_file = devstack.pgdata_dir(state_dir) / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


@pytest.fixture
def up(tmp_path: Path) -> Up:
    return Up(tmp_path / "state")


def test_up_runs_everything_and_stops_cleanly(up: Up) -> None:
    process = up.start()
    try:
        up.wait_until_running(process)
        status, html = get(f"http://127.0.0.1:{up.web}/admin/login/")
        assert status == 200 and "Aura administration" in html
        assert get(f"http://127.0.0.1:{up.ui}/")[0] == 200
        assert get(f"http://127.0.0.1:{up.web}/api/v1/docs/")[0] == 200
        log = up.log
        for line in [
            f"Admin:        http://127.0.0.1:{up.web}/admin/",
            f"API docs:     http://127.0.0.1:{up.web}/api/v1/docs/",
            f"Temporal UI:  http://127.0.0.1:{up.ui}",
            "Created admin user 'admin' with password",
            "Audit trail initialized (PostgresAuditTrail).",
            "Worker running: namespace='default' task_queue='aura'",
        ]:
            assert line in log
        password_file = up.state_dir / "admin-password"
        assert password_file.read_text().split()[0] == "admin"

        children = descendants(process.pid)
        postgres = postmaster_pid(up.state_dir)
        assert postgres is not None and alive(postgres)
        workflow_id = asyncio.run(start_a_workflow(f"127.0.0.1:{up.grpc}"))
        registered = asyncio.run(search_attributes(f"127.0.0.1:{up.grpc}"))
        assert set(DEFINITIONS) <= registered
    finally:
        code = up.stop(process)

    assert code == 0, up.log
    assert not [child.pid for child in children if alive(child.pid)]
    assert not alive(postgres)
    assert postmaster_pid(up.state_dir) is None  # no stale PID file

    # The next run finds everything where it was.
    again = up.start()
    try:
        up.wait_until_running(again)
        assert "Admin user 'admin' exists." in up.log
        assert asyncio.run(workflow_exists(f"127.0.0.1:{up.grpc}", workflow_id))
    finally:
        assert up.stop(again, signal.SIGTERM) == 0


async def start_a_workflow(address: str) -> str:
    client = await Client.connect(address)
    handle = await client.start_workflow(
        "NoSuchWorkflow", id="kept-across-restarts", task_queue="nowhere"
    )
    return handle.id


async def search_attributes(address: str) -> set[str]:
    client = await Client.connect(address)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    return set(response.custom_attributes)


async def workflow_exists(address: str, workflow_id: str) -> bool:
    client = await Client.connect(address)
    description = await client.get_workflow_handle(workflow_id).describe()
    return description.id == workflow_id


def test_port_in_use_is_one_clear_line(up: Up) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", up.web))
        taken.listen()
        process = up.start()
        assert process.wait(60) == 1
    assert up.log == (
        f"CommandError: port {up.web} (web server) is already in use: stop whatever listens "
        "there, or point Aura at it with the matching environment variable.\n"
    )
    assert not (up.state_dir / "pgdata").exists()  # nothing was started
