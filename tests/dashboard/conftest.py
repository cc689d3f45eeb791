"""Records in every state the dashboard shows."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditVerification
from aura_site.runs.models import StartIntent
from crises.models import Crisis, CrisisPhase
from epochs.models import Epoch

XSS = '<script>alert("x")</script> agent down'


def crisis(
    crisis_id: str, status: str, *, started_ago: float, ended_ago=None, error="", phases=()
):
    now = timezone.now()
    record = Crisis.objects.create(
        crisis_id=crisis_id,
        workflow_id=f"crisis-workflow-{crisis_id}",
        target="target-alpha",
        status=status,
        started_at=now - dt.timedelta(hours=started_ago),
        completed_at=None if ended_ago is None else now - dt.timedelta(hours=ended_ago),
        error=error,
    )
    for position, phase_status in enumerate(phases):
        CrisisPhase.objects.create(
            crisis=record,
            position=position,
            phase_id=f"phase-{position + 1}",
            agent_id="agent",
            action="recon",
            target="target-alpha",
            status=phase_status,
            error="perimeter breached" if phase_status == "failed" else "",
        )
    return record


@pytest.fixture
def records(db) -> dict:
    """Crises and epochs in every status, a pending start and a verification of the chain."""
    found = {
        "running": crisis(
            "crisis-run-1", "running", started_ago=0.5, phases=("completed", "running", "pending")
        ),
        "failed": crisis("crisis-fail-1", "failed", started_ago=3, ended_ago=2.5, error=XSS),
        "partial": crisis(
            "crisis-part-1",
            "partial_failure",
            started_ago=5,
            ended_ago=4.5,
            phases=("completed", "failed"),
        ),
    }
    for index in range(3):
        crisis(f"crisis-done-{index}", "completed", started_ago=index + 1, ended_ago=index + 0.5)
    crisis("crisis-old-1", "completed", started_ago=48, ended_ago=47)  # outside the chart
    found["epoch"] = Epoch.objects.create(epoch_id="e-run", current_phase="p4", status="running")
    found["epoch_failed"] = Epoch.objects.create(
        epoch_id="e-fail", current_phase="p9", status="failed", last_error="slice <b>crashed</b>"
    )
    Epoch.objects.create(epoch_id="e-done", current_phase="complete", status="complete")
    now = timezone.now()
    StartIntent.objects.create(
        subject_kind="crisis",
        subject_id="crisis-wait-1",
        workflow_id="crisis-workflow-crisis-wait-1",
        workflow_type="CrisisResponseWorkflow",
        task_queue="liara-crisis-tasks",
        arguments=[],
        attempts=3,
        last_error="connection refused",
        next_attempt_at=now,
        give_up_at=now + dt.timedelta(hours=1),
    )
    StartIntent.objects.create(
        subject_kind="epoch",
        subject_id="e-wait",
        workflow_id="e-wait",
        workflow_type="EpochWorkflow",
        task_queue="aura",
        arguments=[],
        next_attempt_at=now,
        give_up_at=now + dt.timedelta(hours=1),
    )
    AuditVerification.objects.create(
        started_at=now - dt.timedelta(minutes=5),
        finished_at=now - dt.timedelta(minutes=4),
        rows_checked=1234,
        intact=True,
    )
    return found
