"""`manage.py crisis` against the real servers: output and exit codes."""

from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from crises.models import Crisis

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command("crisis", *args, stdout=out)
    return out.getvalue()


arun = sync_to_async(run)


async def test_trigger_status_wait_list_with_the_seed_mapping(
    temporal_settings, crisis_worker
) -> None:
    async with crisis_worker(temporal_settings):
        out = await arun("trigger", "target-alpha", "recon", "secure", "extract", "cleanup")
        crisis = await Crisis.objects.aget()
        assert f"Crisis {crisis.crisis_id} triggered: 4 mission phases" in out
        assert f"Workflow ID: crisis-workflow-{crisis.crisis_id}" in out
        status = await arun("status", crisis.crisis_id)  # does not block
        assert f"Crisis ID:   {crisis.crisis_id}" in status
        waited = await arun("wait", crisis.workflow_id, "--timeout", "20")
    assert "CRISIS RESPONSE COMPLETED" in waited
    assert "  phase-4 completed" in waited
    assert "Status:      completed (4/4 phases completed, 0 failed)" in waited
    phases = [
        (p.phase_id, p.agent_id, p.action, p.priority)
        async for p in crisis.phases.order_by("position")
    ]
    assert phases == [
        ("phase-1", "agent-recon-001", "recon", 1),
        ("phase-2", "agent-secure-002", "secure", 2),
        ("phase-3", "agent-extract-003", "extract", 3),
        ("phase-4", "agent-cleanup-004", "cleanup", 4),
    ]
    listing = await arun("list")
    assert crisis.crisis_id in listing and "completed" in listing and "1 crises" in listing
    as_json = await arun("status", crisis.crisis_id, "--json")
    assert '"status": "completed"' in as_json and '"total_phases": 4' in as_json


async def test_wait_exits_1_unless_completed_and_cancel(
    temporal_settings, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"recon": {"delay": 60}}
    async with crisis_worker(temporal_settings):
        await arun("trigger", "target-gamma", "recon", "secure")
        crisis = await Crisis.objects.aget()
        with pytest.raises(CommandError, match="still running after 0.3s"):
            await arun("wait", crisis.crisis_id, "--timeout", "0.3")
        out = await arun("cancel", crisis.crisis_id, "--actor", "cli:ops")
        assert out.strip() == f"Cancel requested for crisis {crisis.crisis_id} (by cli:ops)."
        with pytest.raises(CommandError, match="ended cancelled") as ended:
            await arun("wait", crisis.crisis_id, "--timeout", "20")
    assert ended.value.returncode == 1
    with pytest.raises(CommandError, match="has already ended"):
        await arun("cancel", crisis.crisis_id)


@pytest.mark.parametrize("verb", ["status", "wait", "cancel"])
def test_unknown_ids_give_one_clear_line(verb) -> None:
    with pytest.raises(CommandError) as error:
        run(verb, "crisis-nope-1")
    assert str(error.value) == "No crisis with id or workflow id 'crisis-nope-1'."
    assert error.value.returncode == 1


def test_invalid_trigger_is_refused_before_anything_starts() -> None:
    with pytest.raises(CommandError, match="target: Ensure this field has at least 3"):
        run("trigger", "ab", "recon")
    assert not Crisis.objects.exists()
