"""One reconciliation of runs whose workflow ended without recording it, for both domains."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from temporalio.client import Client, WorkflowExecutionStatus

from audit.models import AuditEvent
from aura_site.runs import executions
from aura_site.runs.models import StartIntent
from crises import services as crisis_services
from crises.models import Crisis, CrisisPhase
from epochs import services as epoch_services
from epochs.models import Epoch
from tests.runs.ends_badly import EndsBadly


def open_crisis(workflow_id: str) -> Crisis:
    crisis = Crisis.objects.create(
        crisis_id=workflow_id.removeprefix("crisis-workflow-"),
        workflow_id=workflow_id,
        target="t",
        status="running",
    )
    CrisisPhase.objects.create(crisis=crisis, position=0, phase_id="p", agent_id="a", action="x")
    return crisis


def open_epoch(workflow_id: str) -> Epoch:
    return Epoch.objects.create(epoch_id=workflow_id, status=Epoch.Status.RUNNING)


def started_intent(kind: str, workflow_id: str, state: str = "started", **fields: Any) -> None:
    now = timezone.now()
    StartIntent.objects.create(
        subject_kind=kind,
        subject_id=workflow_id,
        workflow_id=workflow_id,
        workflow_type="EndsBadly",
        task_queue="q",
        arguments={},
        state=state,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=1),
        **fields,
    )


def refreshed(kind: str, workflow_id: str) -> tuple[str, str]:
    """Read the record through the domain's own path; return its status and error."""
    if kind == "crisis":
        crisis = crisis_services.refresh_crisis(Crisis.objects.get(workflow_id=workflow_id))
        return crisis.status, crisis.error
    epoch = Epoch.objects.get(epoch_id=workflow_id)
    epoch_services.live_snapshot(epoch)
    epoch.refresh_from_db()
    return epoch.status, epoch.last_error


OPENERS = {"crisis": open_crisis, "epoch": open_epoch}


@pytest.mark.parametrize("kind", OPENERS)
@pytest.mark.parametrize(
    "ending, reason",
    [
        ("terminate", "workflow terminated"),
        ("fail", "workflow failed"),
        ("cancel", "workflow cancelled"),
        ("time_out", "workflow timed out"),
    ],
)
@pytest.mark.django_db(transaction=True)
async def test_a_run_that_ended_unrecorded_is_closed_failed(
    kind: str,
    ending: str,
    reason: str,
    temporal_settings: Client,
    run_worker: Any,
    task_queue: str,
) -> None:
    workflow_id = f"{'crisis-workflow-crisis' if kind == 'crisis' else 'epoch'}-{ending}-{kind}"
    await sync_to_async(OPENERS[kind])(workflow_id)
    await sync_to_async(started_intent)(kind, workflow_id)
    async with run_worker(temporal_settings, task_queue, workflows=[EndsBadly]):
        handle = await temporal_settings.start_workflow(
            EndsBadly.run,
            "fail" if ending == "fail" else "wait",
            id=workflow_id,
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=1) if ending == "time_out" else None,
        )
        if ending == "terminate":
            await handle.terminate("operator")
        elif ending == "cancel":
            await asyncio.sleep(0.3)
            await handle.cancel()
        while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await asyncio.sleep(0.1)
    status, error = await sync_to_async(refreshed)(kind, workflow_id)
    assert (status, error) == ("failed", reason)
    event = "crisis_finalized" if kind == "crisis" else "epoch_failed"
    assert await AuditEvent.objects.filter(subject_kind=kind, event_type=event).acount() == 1
    await sync_to_async(refreshed)(kind, workflow_id)  # once: a second read changes nothing
    assert await AuditEvent.objects.filter(subject_kind=kind, event_type=event).acount() == 1


@pytest.mark.parametrize("kind", OPENERS)
@pytest.mark.django_db(transaction=True)
def test_a_run_temporal_never_heard_of_is_closed_unless_its_start_is_pending(
    kind: str, temporal_settings: Client
) -> None:
    pending, lost = f"{kind}-waiting", f"{kind}-lost"
    for workflow_id in (pending, lost):
        OPENERS[kind](f"crisis-workflow-{workflow_id}" if kind == "crisis" else workflow_id)
    prefix = "crisis-workflow-" if kind == "crisis" else ""
    started_intent(kind, prefix + pending, state="pending")
    started_intent(kind, prefix + lost, state="started", run_id="gone")
    assert refreshed(kind, prefix + pending)[0] == "running"
    assert refreshed(kind, prefix + lost) == ("failed", "workflow unknown to Temporal")


@pytest.mark.django_db
def test_not_found_without_an_intent_means_never_started_after_the_grace() -> None:
    young = timezone.now()
    old = young - executions.START_GRACE - timedelta(seconds=1)
    assert executions.unrecorded_end("w", None, created_at=young) is None
    assert executions.unrecorded_end("w", None, created_at=old) == "workflow never started"
    for status in (
        WorkflowExecutionStatus.RUNNING,
        WorkflowExecutionStatus.COMPLETED,
        WorkflowExecutionStatus.CONTINUED_AS_NEW,
    ):
        assert executions.unrecorded_end("w", status, created_at=old) is None
