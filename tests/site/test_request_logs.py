"""Request ids and JSON logs on the web side: every record of a request carries its id and user."""

import json
import logging.config
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import AsyncClient, Client
from rest_framework.authtoken.models import Token

from aura_site import logs, temporal
from aura_site.devstack import web_server_command
from tests.conftest import free_port, user_with

ROOT = Path(__file__).resolve().parents[2]
TRIGGER = {
    "target": "target-logs",
    "missions": [{"phase_id": "p1", "agent_id": "a1", "action": "recon", "target": "t"}],
}


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Return a function that configures logging as AURA_LOG_FORMAT=json does, on the test's
    captured stderr, and returns what was logged since."""

    def start() -> Callable[[], str]:
        # Called from the test itself: a handler takes the sys.stderr of the moment.
        logging.config.dictConfig(logs.logging_config("json", "INFO"))
        capsys.readouterr()
        return lambda: capsys.readouterr().err

    root = logging.getLogger()
    stream = root.handlers[0].stream
    yield start
    # Back to the settings' logging, on the stream it had (capsys's closes after this test).
    logging.config.dictConfig(django_settings.LOGGING)
    root.handlers[0].setStream(stream)


@pytest.fixture
def temporal_down(settings: Any) -> Iterator[None]:
    """No Temporal server: a trigger's start stays pending and is logged as such."""
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    temporal.set_client(None)
    yield
    temporal.set_client(None)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse every line as one JSON object (a line that is not one fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line]


def token_for(username: str) -> str:
    user = user_with(username, "crises.add_crisis", "crises.view_crisis")
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
def test_every_record_of_a_request_carries_its_id_and_user(
    json_logs: Callable[[], Callable[[], str]], temporal_down: None
) -> None:
    logged = json_logs()
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for('ann')}")
    response = client.post(
        "/api/v1/crises/", TRIGGER, content_type="application/json", HTTP_X_REQUEST_ID="req-42"
    )
    assert response.status_code == 202, response.content
    assert response["X-Request-ID"] == "req-42"

    lines = json_lines(logged())
    pending = [line for line in lines if "is pending" in line["message"]]
    assert len(pending) == 1, lines
    assert pending[0]["level"] == "WARNING"
    assert pending[0]["logger"] == "aura_site.runs.outbox"
    assert pending[0]["request_id"] == "req-42"
    assert pending[0]["user"] == "ann"
    assert pending[0]["timestamp"]
    # Nothing bound leaks out of the request.
    assert logs.context() == {}


@pytest.mark.django_db(transaction=True)
async def test_async_requests_carry_their_id_too(
    json_logs: Callable[[], Callable[[], str]], temporal_down: None
) -> None:
    logged = json_logs()

    key = await sync_to_async(token_for)("bea")
    response = await AsyncClient().post(
        "/api/v1/crises/",
        TRIGGER,
        content_type="application/json",
        headers={"Authorization": f"Token {key}"},
    )
    assert response.status_code == 202, response.content
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32

    lines = json_lines(logged())
    pending = next(line for line in lines if "is pending" in line["message"])
    assert (pending["request_id"], pending["user"]) == (request_id, "bea")


@pytest.mark.django_db
def test_djangos_own_request_records_carry_the_id_and_user(
    json_logs: Callable[[], Callable[[], str]],
) -> None:
    logged = json_logs()
    # Logged by Django after the middleware returned: a 4xx answer.
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for('cy')}")
    response = client.get("/api/v1/crises/no-such-crisis/", HTTP_X_REQUEST_ID="req-404")
    assert response.status_code == 404
    lines = json_lines(logged())
    not_found = next(line for line in lines if line["logger"] == "django.request")
    assert (not_found["request_id"], not_found["user"]) == ("req-404", "cy")


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("req-42", True),
        ("0f9c1d2e-6a7b-4c8d-9e0f-1a2b3c4d5e6f", True),
        ("trace.span:1_2", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("two words", False),
        ('"}{"level": "ERROR"', False),
        ("", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_safe(incoming: str, kept: bool) -> None:
    headers = {"HTTP_X_REQUEST_ID": incoming} if incoming else {}
    response = Client().get("/api/v1/crises/", **headers)
    assert response.status_code == 401
    request_id = response["X-Request-ID"]
    if kept:
        assert request_id == incoming
    else:
        assert request_id != incoming and len(request_id) == 32
        assert all(char in "0123456789abcdef" for char in request_id)


def test_the_web_server_writes_one_json_access_line_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AURA_LOG_FORMAT": "json"}
    stderr_path = tmp_path / "web.err"
    argv = web_server_command(host="127.0.0.1", port=port, workers=1)
    with open(stderr_path, "wb") as stderr:
        web = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/crises/?page=1", headers={"X-Request-ID": "web-7"}
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(request, timeout=5)
            except urllib.error.HTTPError as refused:
                assert refused.code == 401
                assert refused.headers["X-Request-ID"] == "web-7"
                break
            except OSError:
                assert time.monotonic() < deadline, stderr_path.read_text()
                time.sleep(0.2)
    finally:
        web.terminate()
        stdout, _ = web.communicate(timeout=30)
    assert stdout == b""

    lines = json_lines(stderr_path.read_text())
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    access = [line for line in lines if line["logger"] == "aura.access"]
    assert len(access) == 1, lines
    assert access[0]["request_id"] == "web-7"
    assert access[0]["method"] == "GET"
    assert access[0]["path"] == "/api/v1/crises/"
    assert access[0]["status"] == 401
    assert access[0]["message"] == '"GET /api/v1/crises/?page=1" 401'
    assert access[0]["duration_ms"] >= 0
