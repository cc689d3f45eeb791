"""Agent dispatchers: the HTTP agent for real (a local server), and the settings checks."""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import checks
from temporalio.exceptions import ApplicationError

from crises import agents, services
from crises.inputs import MissionPhase
from crises.models import CrisisStatus
from tests.crises.conftest import phase_of, phase_table, reload, start_crisis


class AgentEndpoint:
    """A local agent: answers per phase from a script of status codes, records requests."""

    def __init__(self, script: dict[str, list[int]], delay: float = 0) -> None:
        self.script, self.delay = script, delay
        self.requests: list[tuple[dict, dict]] = []
        self.calls: Counter[str] = Counter()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append((body, dict(self.headers)))
                codes = endpoint.script.get(body["phase_id"], [200])
                code = codes[min(endpoint.calls[body["phase_id"]], len(codes) - 1)]
                endpoint.calls[body["phase_id"]] += 1
                time.sleep(endpoint.delay)
                try:
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(f'{{"code": {code}}}'.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left, as the timeout test intends

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/missions"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator:
    made: list[AgentEndpoint] = []

    def make(script: dict[str, list[int]], delay: float = 0) -> AgentEndpoint:
        made.append(AgentEndpoint(script, delay))
        return made[-1]

    yield make
    for server in made:
        server.close()


def deployment(phase_id: str = "p1") -> agents.Deployment:
    return agents.Deployment(
        crisis_id="crisis-t-1",
        workflow_id="crisis-workflow-crisis-t-1",
        mission=MissionPhase(phase_id, "agent-1", "recon", "target-t", 1),
        attempt=1,
    )


def test_http_dispatcher_outcomes(endpoint) -> None:
    agent = endpoint({"ok": [202], "bad": [422], "down": [503]})
    dispatcher = agents.HttpDispatcher(agent.url, timeout=2)
    dispatcher.dispatch(deployment("ok"), lambda: None)
    body, headers = agent.requests[0]
    assert body == {
        "phase_id": "ok",
        "agent_id": "agent-1",
        "action": "recon",
        "target": "target-t",
        "priority": 1,
        "crisis_id": "crisis-t-1",
        "workflow_id": "crisis-workflow-crisis-t-1",
        "attempt": 1,
    }
    assert headers["Idempotency-Key"] == "crisis-workflow-crisis-t-1:ok"

    with pytest.raises(ApplicationError) as rejected:
        dispatcher.dispatch(deployment("bad"), lambda: None)
    assert rejected.value.non_retryable and "(422)" in rejected.value.message
    with pytest.raises(ApplicationError) as server_error:
        dispatcher.dispatch(deployment("down"), lambda: None)
    assert not server_error.value.non_retryable and "503" in server_error.value.message

    unreachable = agents.HttpDispatcher("http://127.0.0.1:1/", timeout=1)
    with pytest.raises(ApplicationError, match="unreachable") as refused:
        unreachable.dispatch(deployment(), lambda: None)
    assert not refused.value.non_retryable


def test_http_dispatcher_times_out_and_heartbeats_meanwhile(endpoint) -> None:
    agent = endpoint({}, delay=1.5)
    beats: list[float] = []
    with pytest.raises(ApplicationError, match="timed out after 1s") as timeout:
        agents.HttpDispatcher(agent.url, timeout=1).dispatch(
            deployment(), lambda: beats.append(time.monotonic())
        )
    assert not timeout.value.non_retryable
    assert beats, "no heartbeat while the request was in flight"


@pytest.mark.django_db(transaction=True)
async def test_http_agents_drive_retries_and_failures(
    endpoint, skipping_client, crisis_worker, crisis_settings
) -> None:
    agent = endpoint({"phase-1": [500, 502, 200], "phase-2": [400]})
    crisis_settings.CRISIS_AGENT_DISPATCHER = "http"
    crisis_settings.CRISIS_AGENT_URL = agent.url
    missions = services.cli_missions("target-http", ["recon", "secure", "extract"])
    async with crisis_worker(skipping_client):
        crisis, handle = await start_crisis(skipping_client, "target-http", missions)
        result = await handle.result()
    assert result.failed_phases == ["phase-2"] and result.completed_phases == 2
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.PARTIAL_FAILURE
    # 5xx retried (3 attempts), 4xx failed at once (1 attempt), later phases still ran.
    assert phase_table(crisis) == [
        ("phase-1", "completed", 3),
        ("phase-2", "failed", 1),
        ("phase-3", "completed", 1),
    ]
    assert "agent rejected the mission (400)" in phase_of(crisis, "phase-2").error
    assert [body["attempt"] for body, _ in agent.requests if body["phase_id"] == "phase-1"] == [
        1,
        2,
        3,
    ]


@pytest.mark.parametrize(
    ("overrides", "ids"),
    [
        ({"CRISIS_AGENT_DISPATCHER": "carrier-pigeon"}, ["crises.E001"]),
        ({"CRISIS_AGENT_DISPATCHER": "http", "CRISIS_AGENT_URL": ""}, ["crises.E002"]),
        ({"CRISIS_AGENT_DISPATCHER": "scripted", "CRISIS_AGENT_SCRIPT": "{oops"}, ["crises.E003"]),
        (
            {"CRISIS_AGENT_DISPATCHER": "scripted", "CRISIS_AGENT_SCRIPT": '{"p1": 3}'},
            ["crises.E003"],
        ),
        ({"CRISIS_AGENT_TIMEOUT": 0}, ["crises.E004"]),
        ({"CRISIS_AGENT_DISPATCHER": "http", "CRISIS_AGENT_URL": "http://agents/"}, []),
    ],
)
def test_misconfiguration_is_a_system_check_error(settings, overrides, ids) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)
    found = [error.id for error in checks.run_checks() if error.id.startswith("crises.")]
    assert found == ids
