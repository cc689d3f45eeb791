"""Agent dispatchers: how `perform_agent_mission` reaches the agent that performs a phase.

Chosen by the `CRISIS_AGENT_DISPATCHER` setting, read at call time:

- `log` (default): logs two deployment lines and succeeds.
- `http`: POSTs the mission as JSON to `CRISIS_AGENT_URL`; 2xx succeeds, 4xx fails the phase at
  once, 5xx / timeouts / connection errors are retried by the workflow's retry policy.
- `scripted`: follows `CRISIS_AGENT_SCRIPT` (a dict, or JSON text) keyed by phase id or action,
  e.g. `{"phase-2": {"fail": 2}, "extract": {"fail": 99, "error": "no exfil route"},
  "phase-1": {"delay": 3}}`: fail the first N attempts (`"non_retryable": true` skips the
  retries), and/or take `delay` seconds (heartbeating, so a cancel stops it). Exists so
  retries and failures run for real in tests.
"""

import contextvars
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import httpx
from django.conf import settings
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from crises.inputs import MissionPhase

logger = logging.getLogger("crises.agents")

DISPATCHERS = ("log", "http", "scripted")


@dataclass(frozen=True)
class Deployment:
    """One attempt at one mission phase."""

    crisis_id: str
    workflow_id: str
    mission: MissionPhase
    attempt: int


class AgentDispatcher(Protocol):
    def dispatch(self, deployment: Deployment, heartbeat: Callable[[], None]) -> None:
        """Perform the mission; raise ApplicationError (non_retryable when hopeless) if not."""


class LogDispatcher:
    """The agent is told by a log line, and always succeeds."""

    def dispatch(self, deployment: Deployment, heartbeat: Callable[[], None]) -> None:
        mission = deployment.mission
        logger.info(
            "AGENT DEPLOYMENT - Phase: %s | Agent: %s | Action: %s | Target: %s",
            mission.phase_id,
            mission.agent_id,
            mission.action,
            mission.target,
        )
        logger.info(
            "Agent %s deployed successfully for mission phase %s",
            mission.agent_id,
            mission.phase_id,
        )


class _Heartbeating:
    """Heartbeat from a helper thread while a blocking call runs on the activity's thread."""

    def __init__(self, heartbeat: Callable[[], None], interval: float = 1.0) -> None:
        self._heartbeat, self._interval = heartbeat, interval
        self._stop = threading.Event()
        # activity.heartbeat() finds its activity through context variables: take them along.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._heartbeat()

    def __enter__(self) -> "_Heartbeating":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class HttpDispatcher:
    """POST the mission to an agent endpoint; the response status decides retry or failure."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout

    def dispatch(self, deployment: Deployment, heartbeat: Callable[[], None]) -> None:
        mission = deployment.mission
        body = {
            **asdict(mission),
            "crisis_id": deployment.crisis_id,
            "workflow_id": deployment.workflow_id,
            "attempt": deployment.attempt,
        }
        # The agent may see a phase more than once (retries): this key lets it deduplicate.
        headers = {"Idempotency-Key": f"{deployment.workflow_id}:{mission.phase_id}"}
        try:
            with _Heartbeating(heartbeat):
                response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise ApplicationError(
                f"agent endpoint timed out after {self.timeout:g}s", type="AgentTimeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise ApplicationError(
                f"agent endpoint unreachable: {exc}", type="AgentUnreachable"
            ) from exc
        if response.status_code >= 500:
            raise ApplicationError(
                f"agent endpoint answered {response.status_code}: {_excerpt(response)}",
                type="AgentServerError",
            )
        if response.status_code >= 400:
            raise ApplicationError(
                f"agent rejected the mission ({response.status_code}): {_excerpt(response)}",
                type="AgentRejected",
                non_retryable=True,
            )
        logger.info(
            "Agent %s accepted mission phase %s (%s)",
            mission.agent_id,
            mission.phase_id,
            response.status_code,
        )


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] or response.reason_phrase


class ScriptedDispatcher:
    """Fail or delay phases as a script says, then behave like `LogDispatcher`."""

    def __init__(self, script: Mapping[str, Mapping[str, Any]]) -> None:
        self.script = script

    def dispatch(self, deployment: Deployment, heartbeat: Callable[[], None]) -> None:
        mission = deployment.mission
        step = self.script.get(mission.phase_id) or self.script.get(mission.action) or {}
        deadline = time.monotonic() + float(step.get("delay", 0))
        while time.monotonic() < deadline:
            heartbeat()
            # A cancel request arrives with a heartbeat response; the SDK raises it in this
            # thread, and this check catches it should the sleep swallow it.
            if activity.in_activity() and activity.is_cancelled():
                raise CancelledError(f"mission phase {mission.phase_id} cancelled")
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        if deployment.attempt <= int(step.get("fail", 0)):
            message = step.get("error") or (
                f"agent {mission.agent_id} failed phase {mission.phase_id} "
                f"(attempt {deployment.attempt})"
            )
            raise ApplicationError(
                message, type="AgentFailed", non_retryable=bool(step.get("non_retryable"))
            )
        LogDispatcher().dispatch(deployment, heartbeat)


def parse_script(raw: Any) -> dict[str, dict[str, Any]]:
    """Return the scripted dispatcher's script from a dict or JSON text.

    Raises:
        ValueError: when it is not an object of objects.
    """
    script = json.loads(raw) if isinstance(raw, str) else (raw or {})
    if not isinstance(script, dict) or not all(isinstance(v, dict) for v in script.values()):
        raise ValueError('CRISIS_AGENT_SCRIPT must map phase ids or actions to {"fail": N}.')
    return script


def get_dispatcher() -> AgentDispatcher:
    """Return the dispatcher the settings name.

    Raises:
        ValueError: when the settings name no dispatcher, or an incomplete one.
    """
    kind = settings.CRISIS_AGENT_DISPATCHER
    if kind == "log":
        return LogDispatcher()
    if kind == "http":
        if not settings.CRISIS_AGENT_URL:
            raise ValueError("CRISIS_AGENT_DISPATCHER=http needs CRISIS_AGENT_URL.")
        return HttpDispatcher(settings.CRISIS_AGENT_URL, float(settings.CRISIS_AGENT_TIMEOUT))
    if kind == "scripted":
        return ScriptedDispatcher(parse_script(settings.CRISIS_AGENT_SCRIPT))
    raise ValueError(f"CRISIS_AGENT_DISPATCHER must be one of {DISPATCHERS}, not {kind!r}.")
