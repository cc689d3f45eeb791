"""The audit activities: the aurad contract, and exactly-once recording under retries."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from audit.activities import (
    UNINITIALIZED_MESSAGE,
    init_audit_trail,
    query_audit_events,
    record_audit_event,
)
from audit.events import AuditEvent
from audit.models import AuditEvent as AuditRow
from audit.trails import InMemoryAuditTrail, PostgresAuditTrail

EVENT = AuditEvent("epoch-1", "phase_transition", "p2", "epoch", {"from": "p1", "to": "p2"})


@pytest.fixture(autouse=True)
def no_trail() -> Any:
    init_audit_trail(None)
    yield
    init_audit_trail(None)


def test_uninitialised_message_is_the_seeds() -> None:
    assert UNINITIALIZED_MESSAGE == (
        "AuditTrail not initialized — call init_audit_trail() before starting worker. "
        "Inject a concrete AuditTrail (e.g. InMemoryAuditTrail()) via init_audit_trail() in "
        "your worker startup code."
    )


@pytest.mark.parametrize(
    ("fn", "args"), [(record_audit_event, (EVENT,)), (query_audit_events, ("epoch-1",))]
)
async def test_activities_refuse_without_a_trail(fn: Any, args: tuple) -> None:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(fn, *args)
    assert str(caught.value) == UNINITIALIZED_MESSAGE
    assert caught.value.non_retryable is True
    assert caught.value.type is None


async def test_activities_delegate_to_the_trail() -> None:
    trail = InMemoryAuditTrail()
    init_audit_trail(trail)
    env = ActivityEnvironment()
    await env.run(record_audit_event, EVENT)
    await env.run(record_audit_event, AuditEvent("epoch-2", "vote_recorded", "p4", "reviewer"))

    assert await trail.query_events(epoch_id="epoch-1") == [EVENT]
    assert await env.run(query_audit_events, "epoch-1", "p2", "epoch") == [EVENT]
    assert await env.run(query_audit_events, "epoch-1", "p3") == []


async def test_init_replaces_the_trail() -> None:
    first, second = InMemoryAuditTrail(), InMemoryAuditTrail()
    init_audit_trail(first)
    init_audit_trail(second)
    await ActivityEnvironment().run(record_audit_event, EVENT)
    assert await first.query_events() == []
    assert await second.query_events() == [EVENT]


@workflow.defn(sandboxed=False)
class RecordOnceWorkflow:
    @workflow.run
    async def run(self, event: AuditEvent) -> None:
        await workflow.execute_activity(
            record_audit_event,
            event,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1)),
        )


class CrashAfterFirstAttempt(Interceptor):
    """Let the first attempt do its work, then fail it as a worker crash would."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CrashAfterFirstAttempt(next)


class _CrashAfterFirstAttempt(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await self.next.execute_activity(input)
        if activity.info().attempt == 1:
            raise RuntimeError("worker crashed after recording")
        return result


@pytest.mark.django_db(transaction=True)
async def test_retried_activity_records_its_event_once(
    time_skipping_env: WorkflowEnvironment, run_worker: Any, task_queue: str
) -> None:
    init_audit_trail(PostgresAuditTrail())
    workflow_id = f"epoch-{uuid.uuid4()}"
    async with run_worker(
        time_skipping_env.client,
        task_queue,
        workflows=[RecordOnceWorkflow],
        activities=[record_audit_event],
        interceptors=[CrashAfterFirstAttempt()],
    ):
        await time_skipping_env.client.execute_workflow(
            RecordOnceWorkflow.run, EVENT, id=workflow_id, task_queue=task_queue
        )

    rows = [row async for row in AuditRow.objects.filter(workflow_id=workflow_id)]
    assert len(rows) == 1
    assert rows[0].idempotency_key == f"{workflow_id}/{rows[0].run_id}/1"
    assert rows[0].actor.startswith("worker:")
    assert (rows[0].subject_id, rows[0].event_type, rows[0].payload) == (
        "epoch-1",
        "phase_transition",
        {"from": "p1", "to": "p2"},
    )


async def test_uninitialised_trail_fails_the_workflow_without_retrying(
    time_skipping_env: WorkflowEnvironment, run_worker: Any, task_queue: str
) -> None:
    async with run_worker(
        time_skipping_env.client,
        task_queue,
        workflows=[RecordOnceWorkflow],
        activities=[record_audit_event],
    ):
        with pytest.raises(WorkflowFailureError) as caught:
            await time_skipping_env.client.execute_workflow(
                RecordOnceWorkflow.run, EVENT, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
            )
    cause = caught.value.cause.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == UNINITIALIZED_MESSAGE
