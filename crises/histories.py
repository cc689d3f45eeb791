"""Crisis scenarios of the history corpus (`manage.py record_histories --only crises`).

Each triggers a crisis through the services, as the API does, with the `scripted` dispatcher
making agents fail or take their time, and waits for it to end.
"""

import time

from django.test.utils import override_settings

from audit.models import AuditEvent
from crises import services
from crises.models import CrisisPhase, PhaseStatus
from crises.services import schedules
from workers.histories import ScenarioError, scenario

ACTOR = "record_histories"
# Keyed by action: `jam` fails once then succeeds, `breach` fails all three attempts (2 s and
# 4 s of backoff), `stall` takes long enough to be cancelled.
SCRIPT = {
    "jam": {"fail": 1},
    "breach": {"fail": 3, "error": "no route to the target"},
    "stall": {"delay": 60},
}


def _trigger(target: str, actions: list[str]):
    missions = services.cli_missions(target, actions)
    return services.trigger_crisis(
        target=target, missions=missions, initiated_by=ACTOR, actor=ACTOR
    ).record


def _run(target: str, actions: list[str]) -> str:
    with override_settings(CRISIS_AGENT_DISPATCHER="scripted", CRISIS_AGENT_SCRIPT=SCRIPT):
        crisis = _trigger(target, actions)
        crisis, ended = services.wait_for_crisis(crisis, timeout=services.MAX_WAIT_SECONDS)
    if not ended:
        raise ScenarioError(f"crisis {crisis.crisis_id} did not end")
    return crisis.workflow_id


@scenario("crises", "happy-path")
def happy_path() -> str:
    """Four phases, each succeeding at once."""
    return _run("alpha", ["recon", "secure", "extract", "cleanup"])


@scenario("crises", "retried-phase")
def retried_phase() -> str:
    """The second phase fails once, is retried and succeeds."""
    return _run("bravo", ["recon", "jam", "cleanup"])


@scenario("crises", "exhausted-phase")
def exhausted_phase() -> str:
    """The second phase fails all its attempts: logged failed, the rest runs (partial failure)."""
    return _run("charlie", ["recon", "breach", "cleanup"])


@scenario("crises", "cancelled")
def cancelled() -> str:
    """Cancelled while its second phase runs: the mission stops, the rest is skipped."""
    with override_settings(CRISIS_AGENT_DISPATCHER="scripted", CRISIS_AGENT_SCRIPT=SCRIPT):
        crisis = _trigger("delta", ["recon", "stall", "cleanup"])
        deadline = time.monotonic() + 30
        stalled = CrisisPhase.objects.filter(
            crisis=crisis, phase_id="phase-2", status=PhaseStatus.RUNNING
        )
        while not stalled.exists():
            if time.monotonic() > deadline:
                raise ScenarioError(f"crisis {crisis.crisis_id} never reached its second phase")
            time.sleep(0.05)
        services.cancel_crisis(crisis, actor=ACTOR)
        crisis, ended = services.wait_for_crisis(crisis, timeout=services.MAX_WAIT_SECONDS)
    if not ended:
        raise ScenarioError(f"crisis {crisis.crisis_id} did not end after its cancel")
    return crisis.workflow_id


@scenario("crises", "scheduled-firing")
def scheduled_firing() -> str:
    """A paused schedule fired by hand: its ScheduledCrisisWorkflow records one crisis."""
    schedule = schedules.create_schedule(
        name="drill",
        target="echo",
        missions=services.cli_missions("echo", ["recon"]),
        interval_seconds=3600,
        paused=True,
        actor=ACTOR,
    )
    schedules.trigger_schedule(schedule, actor=ACTOR)
    fired = AuditEvent.objects.for_subject("crisis_schedule", schedule.name).filter(
        event_type="schedule_fired"
    )
    deadline = time.monotonic() + 30
    while not fired.exists():
        if time.monotonic() > deadline:
            raise ScenarioError(f"schedule {schedule.name} never fired")
        time.sleep(0.05)
    firing_id = fired.get().payload["firing_workflow_id"]
    schedules.delete_schedule(schedule, actor=ACTOR)
    return firing_id
