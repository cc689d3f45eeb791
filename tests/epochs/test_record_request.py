"""`record_request`: one local activity writes a request's row, check and audit events, once."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from audit.activities import UNINITIALIZED_MESSAGE, init_audit_trail
from audit.events import AuditEvent
from audit.models import AuditEvent as AuditRow
from audit.trails import InMemoryAuditTrail, PostgresAuditTrail
from epochs.activities import record_request
from epochs.constraints import ConstraintViolation
from epochs.inputs import (
    ConstraintCheckInput,
    RecordRequestInput,
    RecordTransitionInput,
    RecordVoteInput,
)
from epochs.models import Epoch, EpochTransition, EpochVote
from epochs.protocol import PhaseId, ReviewAxis, VoteType
from epochs.state_machine import EpochState, TransitionRecord
from tests.audit.test_activities import CrashAfterFirstAttempt

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)


def handoff_move(epoch_id: str) -> RecordRequestInput:
    """p7 → p8: a move whose advisory check reports the handoff reminder."""
    record = TransitionRecord(PhaseId.P7_Handoff, PhaseId.P8_ImplPlan, NOW, "bench", "ready")
    return RecordRequestInput(
        epoch_id,
        transition=RecordTransitionInput(
            epoch_id, 6, record, PhaseId.P8_ImplPlan, "running", actor="user:ana"
        ),
        events=[AuditEvent(epoch_id, "phase_transition", "p8", "worker", {"to": "p8"})],
        check=ConstraintCheckInput(
            EpochState(epoch_id, PhaseId.P7_Handoff), PhaseId.P8_ImplPlan, "worker"
        ),
    )


@pytest.fixture(autouse=True)
def no_trail() -> Any:
    init_audit_trail(None)
    yield
    init_audit_trail(None)


@workflow.defn(sandboxed=False)
class RecordRequestWorkflow:
    @workflow.run
    async def run(self, data: RecordRequestInput) -> list[ConstraintViolation]:
        return await workflow.execute_activity(
            record_request,
            data,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1)),
        )


@pytest.mark.django_db(transaction=True)
async def test_a_retried_move_writes_its_row_and_each_event_once(
    time_skipping_env: WorkflowEnvironment, run_worker: Any, task_queue: str
) -> None:
    init_audit_trail(PostgresAuditTrail())
    epoch_id = f"epoch-{uuid.uuid4()}"
    async with run_worker(
        time_skipping_env.client,
        task_queue,
        workflows=[RecordRequestWorkflow],
        activities=[record_request],
        interceptors=[CrashAfterFirstAttempt()],
    ):
        violations = await time_skipping_env.client.execute_workflow(
            RecordRequestWorkflow.run, handoff_move(epoch_id), id=epoch_id, task_queue=task_queue
        )

    assert [v.constraint_id for v in violations] == ["C-handoff-skill-invocation"]
    epoch = await Epoch.objects.aget(epoch_id=epoch_id)
    assert (epoch.current_phase, epoch.status) == ("p8", "running")
    rows = [row async for row in EpochTransition.objects.filter(epoch=epoch)]
    assert [(r.index, r.from_phase, r.to_phase, r.actor) for r in rows] == [
        (6, "p7", "p8", "user:ana")
    ]
    events = [row async for row in AuditRow.objects.filter(subject_id=epoch_id).order_by("seq")]
    key = f"{epoch_id}/{events[0].run_id}/1"
    assert [(e.event_type, e.phase, e.role, e.idempotency_key) for e in events] == [
        ("phase_transition", "p8", "worker", key),
        ("constraint_check", "p7", "worker", f"{key}/2"),
    ]
    assert events[1].payload["passed"] is False
    assert events[1].payload["violations"][0]["constraint_id"] == "C-handoff-skill-invocation"


@pytest.mark.django_db(transaction=True)
async def test_a_vote_goes_to_its_row_and_the_workers_trail() -> None:
    trail = InMemoryAuditTrail()
    init_audit_trail(trail)
    event = AuditEvent("e-vote", "vote_recorded", "p4", "reviewer", {"axis": "correctness"})
    vote = RecordVoteInput(
        "e-vote", 1, PhaseId.P4_Review, 1, ReviewAxis.Correctness, VoteType.Accept, "ana", NOW
    )
    data = RecordRequestInput("e-vote", vote=vote, events=[event])

    assert await ActivityEnvironment().run(record_request, data) == []
    assert await trail.query_events(epoch_id="e-vote") == [event]
    row = await EpochVote.objects.aget(epoch__epoch_id="e-vote", sequence=1)
    assert (row.axis, row.vote, row.reviewer_id) == ("correctness", "ACCEPT", "ana")


@pytest.mark.django_db(transaction=True)
async def test_without_a_trail_nothing_is_written() -> None:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(record_request, handoff_move("e-none"))
    assert str(caught.value) == UNINITIALIZED_MESSAGE
    assert not await Epoch.objects.filter(epoch_id="e-none").aexists()
