"""CrisisResponseWorkflow and its activities on real Temporal servers and PostgreSQL."""

import asyncio
import json
import logging

import pytest
from asgiref.sync import sync_to_async
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from audit.models import AuditEvent
from crises import activities, services
from crises.inputs import VALIDATION_FAILED, CrisisRequest, CrisisResult, MissionPhase
from crises.models import Crisis, CrisisStatus, PhaseStatus
from crises.workflows import CrisisResponseWorkflow
from tests.crises.conftest import (
    SEED_ACTIONS,
    phase_of,
    phase_table,
    reload,
    start_crisis,
)

pytestmark = pytest.mark.django_db(transaction=True)


def event_types(crisis: Crisis) -> list[str]:
    return list(
        AuditEvent.objects.for_subject("crisis", crisis.crisis_id).values_list(
            "event_type", flat=True
        )
    )


async def test_seed_example_happy_path(temporal_settings, crisis_worker, caplog) -> None:
    caplog.set_level(logging.INFO)
    missions = services.cli_missions("target-alpha", SEED_ACTIONS)
    async with crisis_worker(temporal_settings):
        crisis, handle = await start_crisis(temporal_settings, "target-alpha", missions)
        result = await handle.result()

    assert crisis.crisis_id.startswith("crisis-target-alpha-")
    assert crisis.workflow_id == f"crisis-workflow-{crisis.crisis_id}"
    assert result == CrisisResult(success=True, crisis_id=crisis.crisis_id, completed_phases=4)
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.COMPLETED
    assert crisis.completed_at is not None and crisis.completed_at >= crisis.started_at
    assert phase_table(crisis) == [(f"phase-{i}", "completed", 1) for i in range(1, 5)]
    assert all(phase.timestamp for phase in crisis.phases.all())
    assert await sync_to_async(event_types)(crisis) == [
        "crisis_triggered",
        *["phase_completed"] * 4,
        "crisis_finalized",
    ]
    finalized = await AuditEvent.objects.aget(
        subject_id=crisis.crisis_id, event_type="crisis_finalized"
    )
    assert finalized.payload == {
        "status": "completed",
        "completed_phases": 4,
        "failed_phases": 0,
        "total_phases": 4,
        "error": "",
    }
    logs = caplog.text
    assert (
        "AGENT DEPLOYMENT - Phase: phase-1 | Agent: agent-recon-001 | Action: recon | "
        "Target: target-alpha"
    ) in logs
    assert "Agent agent-cleanup-004 deployed successfully for mission phase phase-4" in logs
    assert "Crisis response completed: 4/4 phases successful" in logs


async def test_bookkeeping_runs_as_local_activities_and_missions_as_regular_ones(
    temporal_settings, crisis_worker
) -> None:
    missions = services.cli_missions("target-local", SEED_ACTIONS[:2])
    async with crisis_worker(temporal_settings):
        _, handle = await start_crisis(temporal_settings, "target-local", missions)
        assert (await handle.result()).success
    events = (await handle.fetch_history()).events
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    local = [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)[
            "activity_type"
        ]
        for e in events
        if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    assert scheduled == ["perform_agent_mission"] * 2
    assert local == [
        "validate_crisis_request",
        "initialize_crisis_response",
        "log_mission_phase",
        "log_mission_phase",
        "finalize_crisis_response",
    ]


async def test_phases_run_in_stable_priority_order(temporal_settings, crisis_worker) -> None:
    missions = [
        {"phase_id": "late", "agent_id": "a1", "action": "cleanup", "target": "t", "priority": 3},
        {"phase_id": "first", "agent_id": "a2", "action": "recon", "target": "t", "priority": 1},
        {"phase_id": "middle", "agent_id": "a3", "action": "secure", "target": "t", "priority": 2},
        {"phase_id": "second", "agent_id": "a4", "action": "recon", "target": "t", "priority": 1},
    ]
    async with crisis_worker(temporal_settings):
        crisis, handle = await start_crisis(temporal_settings, "target-order", missions)
        assert (await handle.result()).success
    crisis = await reload(crisis)
    by_start = sorted(crisis.phases.all(), key=lambda phase: phase.started_at)
    assert [phase.phase_id for phase in by_start] == ["first", "second", "middle", "late"]
    assert [phase.position for phase in by_start] == [0, 1, 2, 3]


async def test_phase_failing_twice_then_succeeding_records_three_attempts(
    skipping_client, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"phase-2": {"fail": 2, "error": "radio silence"}}
    missions = services.cli_missions("target-retry", SEED_ACTIONS[:3])
    async with crisis_worker(skipping_client):
        crisis, handle = await start_crisis(skipping_client, "target-retry", missions)
        result = await handle.result()
    assert result.success and result.completed_phases == 3 and result.failed_phases is None
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.COMPLETED
    assert phase_table(crisis) == [
        ("phase-1", "completed", 1),
        ("phase-2", "completed", 3),
        ("phase-3", "completed", 1),
    ]
    assert phase_of(crisis, "phase-2").error == "attempt 2: radio silence"


async def test_phase_out_of_retries_is_a_partial_failure(
    skipping_client, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"secure": {"fail": 99, "error": "perimeter breached"}}
    missions = services.cli_missions("target-partial", SEED_ACTIONS)
    async with crisis_worker(skipping_client):
        crisis, handle = await start_crisis(skipping_client, "target-partial", missions)
        result = await handle.result()
    assert result == CrisisResult(
        success=False,
        crisis_id=crisis.crisis_id,
        completed_phases=3,
        failed_phases=["phase-2"],
    )
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.PARTIAL_FAILURE
    assert phase_table(crisis) == [
        ("phase-1", "completed", 1),
        ("phase-2", "failed", 3),
        ("phase-3", "completed", 1),
        ("phase-4", "completed", 1),
    ]
    # The root cause, not the SDK's "Activity task failed".
    assert phase_of(crisis, "phase-2").error == "perimeter breached"
    events = await sync_to_async(event_types)(crisis)
    assert events.count("phase_failed") == 1 and events.count("phase_completed") == 3
    finalized = await AuditEvent.objects.aget(
        subject_id=crisis.crisis_id, event_type="crisis_finalized"
    )
    assert (finalized.payload["status"], finalized.payload["total_phases"]) == (
        "partial_failure",
        4,
    )


async def test_every_phase_failing_fails_the_crisis(
    skipping_client, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"recon": {"fail": 99}, "secure": {"fail": 99}}
    missions = services.cli_missions("target-doomed", ["recon", "secure"])
    async with crisis_worker(skipping_client):
        crisis, handle = await start_crisis(skipping_client, "target-doomed", missions)
        result = await handle.result()
    assert not result.success and result.failed_phases == ["phase-1", "phase-2"]
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.FAILED
    assert phase_table(crisis) == [("phase-1", "failed", 3), ("phase-2", "failed", 3)]


@pytest.mark.parametrize(
    ("target", "missions"),
    [
        ("ab", [MissionPhase("p1", "a", "deploy", "ab")]),
        ("target-empty", []),
        ("target-blank", [MissionPhase("p1", "", "deploy", "t")]),
        (
            "target-dup",
            [MissionPhase("p1", "a", "deploy", "t"), MissionPhase("p1", "b", "deploy", "t")],
        ),
        ("target-prio", [MissionPhase("p1", "a", "deploy", "t", priority=0)]),
    ],
)
async def test_workflow_rejects_invalid_requests(
    temporal_settings, crisis_worker, task_queue, target, missions
) -> None:
    crisis_id = f"crisis-{target}-invalid"
    async with crisis_worker(temporal_settings):
        result = await temporal_settings.execute_workflow(
            CrisisResponseWorkflow.run,
            CrisisRequest(target_member=target, missions=missions, crisis_id=crisis_id),
            id=f"crisis-workflow-{crisis_id}",
            task_queue=task_queue,
        )
    assert result == CrisisResult(success=False, crisis_id=crisis_id, error=VALIDATION_FAILED)
    assert not await Crisis.objects.filter(crisis_id=crisis_id).aexists()


async def test_workflow_rejection_fails_an_existing_record(
    temporal_settings, crisis_worker, task_queue
) -> None:
    # A record made without the edge's validation (e.g. by hand): the workflow still checks.
    crisis = await Crisis.objects.acreate(
        crisis_id="crisis-x-1", workflow_id="crisis-workflow-crisis-x-1", target="x"
    )
    async with crisis_worker(temporal_settings):
        result = await temporal_settings.execute_workflow(
            CrisisResponseWorkflow.run,
            CrisisRequest(target_member="x", missions=[], crisis_id="crisis-x-1"),
            id=crisis.workflow_id,
            task_queue=task_queue,
        )
    assert result.error == VALIDATION_FAILED
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.FAILED
    assert "target: Ensure this field has at least 3 characters" in crisis.error
    assert await sync_to_async(event_types)(crisis) == ["crisis_rejected"]


async def test_cancel_stops_the_current_mission_and_skips_the_rest(
    temporal_settings, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"phase-2": {"delay": 60}}
    missions = services.cli_missions("target-cancel", SEED_ACTIONS[:3])
    async with crisis_worker(temporal_settings):
        crisis, handle = await start_crisis(temporal_settings, "target-cancel", missions)
        for _ in range(200):
            phase = await crisis.phases.aget(phase_id="phase-2")
            if phase.status == PhaseStatus.RUNNING:
                break
            await asyncio.sleep(0.05)
        await sync_to_async(services.cancel_crisis)(crisis, actor="user:alice")
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=20)
    assert isinstance(failure.value.cause, CancelledError)
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.CANCELLED
    assert crisis.cancel_requested_by == "user:alice"
    assert phase_table(crisis) == [
        ("phase-1", "completed", 1),
        ("phase-2", "skipped", 1),
        ("phase-3", "skipped", 0),
    ]
    cancelled = await AuditEvent.objects.aget(
        subject_id=crisis.crisis_id, event_type="crisis_cancelled"
    )
    assert cancelled.actor == "user:alice"
    assert cancelled.payload["skipped_phases"] == ["phase-2", "phase-3"]


def crashing_after(real, crashes: set[str]):
    """Return a stand-in for `real` that does its work, then crashes once per key."""
    crashed: set[str] = set()

    def stand_in(data):
        result = real(data)
        key = getattr(data, "phase_id", "") or "crisis"
        if key in crashes and key not in crashed:
            crashed.add(key)
            raise RuntimeError(f"worker died after {real.__name__}({key})")
        return result

    stand_in.__annotations__ = real.__annotations__  # the SDK converts the input by these
    return activity.defn(name=real.__name__)(stand_in)


async def test_activities_retried_after_a_crash_record_once(
    skipping_client, run_worker, crisis_settings, task_queue
) -> None:
    stand_ins = [
        crashing_after(activities.initialize_crisis_response, {"crisis"}),
        crashing_after(activities.log_mission_phase, {"phase-1", "phase-2"}),
        crashing_after(activities.finalize_crisis_response, {"crisis"}),
    ]
    replaced = {"initialize_crisis_response", "log_mission_phase", "finalize_crisis_response"}
    registered = [
        *stand_ins,
        *(fn for fn in activities.ACTIVITIES if fn.__name__ not in replaced),
    ]
    missions = services.cli_missions("target-crash", ["recon", "secure"])
    async with run_worker(
        skipping_client, task_queue, workflows=[CrisisResponseWorkflow], activities=registered
    ):
        crisis, handle = await start_crisis(skipping_client, "target-crash", missions)
        result = await asyncio.wait_for(handle.result(), timeout=30)
    assert result.success and result.completed_phases == 2
    crisis = await reload(crisis)
    assert crisis.status == CrisisStatus.COMPLETED
    assert phase_table(crisis) == [("phase-1", "completed", 1), ("phase-2", "completed", 1)]
    assert await sync_to_async(event_types)(crisis) == [
        "crisis_triggered",
        "phase_completed",
        "phase_completed",
        "crisis_finalized",
    ]


async def test_a_misconfigured_dispatcher_fails_the_phase_without_naming_settings(
    skipping_client, crisis_worker, crisis_settings, caplog
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "http"
    crisis_settings.CRISIS_AGENT_URL = ""
    missions = services.cli_missions("target-misconfigured", SEED_ACTIONS[:1])
    async with crisis_worker(skipping_client):
        crisis, handle = await start_crisis(skipping_client, "target-misconfigured", missions)
        await handle.result()
    crisis = await reload(crisis)
    assert phase_table(crisis) == [("phase-1", "failed", 1)]
    # API users read the record: it says what failed, the worker's log says which setting.
    assert phase_of(crisis, "phase-1").error == "The worker's agent dispatcher is misconfigured."
    assert "CRISIS_AGENT_DISPATCHER=http needs CRISIS_AGENT_URL." in caplog.text
