"""LiaraTemporalAgency: the seed's example, and a truthful non-blocking status for every state."""

import asyncio

import pytest
from temporalio.service import RPCError

from crises.agency import LiaraTemporalAgency
from crises.exceptions import InvalidCrisisRequest
from crises.models import Crisis
from tests.conftest import server_address

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agency(temporal_settings, task_queue, crisis_settings) -> LiaraTemporalAgency:
    return LiaraTemporalAgency(
        temporal_host=server_address(temporal_settings),
        namespace=temporal_settings.namespace,
        task_queue=task_queue,
    )


async def test_seed_example(agency, temporal_settings, crisis_worker) -> None:
    async with crisis_worker(temporal_settings), agency:
        missions = [
            {
                "phase_id": "phase-1",
                "agent_id": "agent-001",
                "action": "deploy",
                "target": "target-alpha",
                "priority": 1,
            }
        ]
        workflow_id = await agency.trigger_crisis_response(
            target_member="target-alpha", missions=missions, initiated_by="user-123"
        )
        result = await agency.wait_for_crisis_completion(workflow_id)
        status = await agency.get_crisis_status(workflow_id)
    crisis = await Crisis.objects.aget(workflow_id=workflow_id)
    assert workflow_id == f"crisis-workflow-{crisis.crisis_id}"
    assert crisis.initiated_by == "user-123" and crisis.status == "completed"
    assert result == {
        "success": True,
        "crisis_id": crisis.crisis_id,
        "completed_phases": 1,
        "failed_phases": None,
        "error": None,
    }
    assert status == {"status": "completed", "workflow_id": workflow_id, **result}


async def test_missing_mission_keys_get_the_seed_defaults(
    agency, temporal_settings, crisis_worker
) -> None:
    async with crisis_worker(temporal_settings), agency:
        workflow_id = await agency.trigger_crisis_response("target-delta", [{}, {"action": "x"}])
        await agency.wait_for_crisis_completion(workflow_id, timeout=20)
    crisis = await Crisis.objects.aget(workflow_id=workflow_id)
    phases = [
        (p.phase_id, p.agent_id, p.action, p.target, p.priority)
        async for p in crisis.phases.order_by("position")
    ]
    assert phases == [
        ("phase-0", "default-agent", "deploy", "target-delta", 1),
        ("phase-1", "default-agent", "x", "target-delta", 2),
    ]


async def test_status_of_every_state(
    agency, temporal_settings, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {
        "slow": {"delay": 60},
        "broken": {"fail": 1, "non_retryable": True, "error": "jammed"},
    }

    def missions(*actions: str) -> list[dict]:
        return [{"phase_id": f"p{i}", "action": a} for i, a in enumerate(actions)]

    async with crisis_worker(temporal_settings), agency:
        assert await agency.get_crisis_status("crisis-workflow-crisis-nope-1") == {
            "status": "not_found",
            "workflow_id": "crisis-workflow-crisis-nope-1",
        }
        partial = await agency.trigger_crisis_response("target-p", missions("ok", "broken"))
        failed = await agency.trigger_crisis_response("target-f", missions("broken", "broken"))
        running = await agency.trigger_crisis_response("target-r", missions("ok", "slow", "ok"))
        for workflow_id in (partial, failed):
            await agency.wait_for_crisis_completion(workflow_id, timeout=20)

        # Status does not block: the slow crisis is reported running, with its progress.
        status = {}
        for _ in range(100):
            status = await asyncio.wait_for(agency.get_crisis_status(running), timeout=6)
            if status.get("current_phase") == "p1":
                break
            await asyncio.sleep(0.05)
        assert status["status"] == "running"
        assert (status["completed_phases"], status["total_phases"]) == (1, 3)

        cancelled_id = running.removeprefix("crisis-workflow-")
        await temporal_settings.get_workflow_handle(running).cancel()
        cancelled = await agency.wait_for_crisis_completion(cancelled_id, timeout=20)
        assert cancelled["success"] is False and cancelled["completed_phases"] == 1

        p = await agency.get_crisis_status(partial)
        f = await agency.get_crisis_status(failed)
        c = await agency.get_crisis_status(cancelled_id)  # the crisis id works too

        terminated = await agency.trigger_crisis_response("target-t", missions("slow"))
        await temporal_settings.get_workflow_handle(terminated).terminate("test")
        t = await agency.get_crisis_status(terminated)

    assert (p["status"], p["failed_phases"], p["completed_phases"]) == (
        "partial_failure",
        ["p1"],
        1,
    )
    assert (f["status"], f["failed_phases"]) == ("failed", ["p0", "p1"])
    assert c["status"] == "cancelled" and c["error"] == "cancelled"
    assert t["status"] == "failed" and t["success"] is False


async def test_not_connected_invalid_and_unknown(agency, temporal_settings) -> None:
    with pytest.raises(RuntimeError, match="Not connected to Temporal server"):
        await agency.trigger_crisis_response("target-a", [{}])
    async with agency:
        with pytest.raises(InvalidCrisisRequest):
            await agency.trigger_crisis_response("ab", [{}])
        with pytest.raises(RPCError):
            await agency.wait_for_crisis_completion("crisis-workflow-crisis-nope-1")
    assert not await Crisis.objects.aexists()


def test_options_fall_back_to_the_environment(settings, monkeypatch) -> None:
    monkeypatch.delenv("TEMPORAL_HOST", raising=False)
    settings.TEMPORAL_ADDRESS = "ns.acct.tmprl.cloud:7233"
    settings.TEMPORAL_NAMESPACE = "ns.acct"
    settings.CRISIS_TASK_QUEUE = "liara-crisis-tasks"
    settings.TEMPORAL_API_KEY = "secret"
    agency = LiaraTemporalAgency()
    assert (agency.temporal_host, agency.namespace, agency.task_queue, agency.api_key) == (
        "ns.acct.tmprl.cloud:7233",
        "ns.acct",
        "liara-crisis-tasks",
        "secret",
    )
    assert LiaraTemporalAgency(temporal_host="h:1", api_key="k2").temporal_host == "h:1"
    with pytest.raises(ValueError, match="must be set together"):
        LiaraTemporalAgency(tls_cert="-----BEGIN CERTIFICATE-----\nx\n")


async def test_connect_failure_is_a_connection_error() -> None:
    agency = LiaraTemporalAgency(temporal_host="127.0.0.1:1", connect_attempts=1)
    with pytest.raises(ConnectionError, match="Unable to connect to Temporal at 127.0.0.1:1"):
        await agency.connect()
