"""The `temporal` audit trail on a real Temporal dev server: events kept in AuditLogWorkflow."""

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from audit.activities import init_audit_trail, query_audit_events, record_audit_event
from audit.checks import check_audit_trail
from audit.events import AuditEvent, AuditTrail
from audit.trails import (
    BACKEND_CHOICES,
    TemporalAuditTrail,
    describe,
    init_worker_trail,
    make_audit_trail,
)
from audit.workflows import AuditLogWorkflow, audit_workflow_id
from tests.audit.test_activities import CrashAfterFirstAttempt, RecordOnceWorkflow
from workers.conf import WorkerConfig
from workers.registry import registered_queues


def events_of(epoch: str) -> list[AuditEvent]:
    """The events of tests/audit/test_trails.py, with `epoch` for e1 (unique per test)."""
    return [
        AuditEvent(epoch, "phase_transition", "p2", "epoch", {"from": "p1", "to": "p2"}),
        AuditEvent(f"{epoch}-other", "vote_recorded", "p4", "reviewer", {"axis": "correctness"}),
        AuditEvent(epoch, "phase_transition", "p3", "epoch", {"from": "p2", "to": "p3"}),
        AuditEvent(epoch, "vote_recorded", "p4", "reviewer", {"nested": {"b": 1, "a": [1, 2]}}),
    ]


QUERIES = [
    ({}, [0, 2, 3]),
    ({"phase": "p4"}, [3]),
    ({"role": "reviewer"}, [3]),
    ({"phase": "p2", "role": "epoch"}, [0]),
    ({"phase": "p9"}, []),
]


@pytest.fixture(autouse=True)
def no_trail() -> Any:
    init_audit_trail(None)
    yield
    init_audit_trail(None)


@pytest.fixture
def epoch() -> str:
    return f"epoch-{uuid.uuid4()}"


async def test_records_and_queries_with_the_filters_and_order_of_the_other_backends(
    temporal_settings: Client, run_worker: Any, task_queue: str, epoch: str
) -> None:
    trail = TemporalAuditTrail(task_queue)
    assert isinstance(trail, AuditTrail)
    events = events_of(epoch)
    async with run_worker(temporal_settings, task_queue, workflows=[AuditLogWorkflow]):
        for event in events:
            await trail.record_event(event)

        for filters, expected in QUERIES:
            got = await trail.query_events(epoch_id=epoch, **filters)
            assert got == [events[i] for i in expected], filters
        assert await trail.query_events(epoch_id=f"{epoch}-other") == [events[1]]
        # Outside an activity each call is its own event, as in the other backends.
        await trail.record_event(events[0])
        assert await trail.query_events(epoch_id=epoch, phase="p2") == [events[0], events[0]]


async def test_an_epoch_without_events_has_an_empty_trail(
    temporal_settings: Client, task_queue: str, epoch: str
) -> None:
    assert await TemporalAuditTrail(task_queue).query_events(epoch_id=epoch) == []


async def test_queries_need_an_epoch(temporal_settings: Client, task_queue: str) -> None:
    with pytest.raises(ValueError, match="answers per epoch"):
        await TemporalAuditTrail(task_queue).query_events(phase="p2")


async def test_retried_activity_appends_its_event_once(
    temporal_settings: Client, run_worker: Any, task_queue: str, epoch: str
) -> None:
    init_audit_trail(TemporalAuditTrail(task_queue))
    event = events_of(epoch)[0]
    async with run_worker(
        temporal_settings,
        task_queue,
        workflows=[RecordOnceWorkflow, AuditLogWorkflow],
        activities=[record_audit_event, query_audit_events],
        interceptors=[CrashAfterFirstAttempt()],
    ):
        handle = await temporal_settings.start_workflow(
            RecordOnceWorkflow.run, event, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
        await handle.result()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert attempts == [2]  # the first attempt appended, then failed; the second retried

        assert await TemporalAuditTrail(task_queue).query_events(epoch_id=epoch) == [event]


async def test_continue_as_new_keeps_the_events(
    temporal_settings: Client, run_worker: Any, task_queue: str, epoch: str
) -> None:
    trail = TemporalAuditTrail(task_queue, history_threshold=15)
    events = [AuditEvent(epoch, "phase_transition", f"p{i}", "epoch", {"i": i}) for i in range(12)]
    async with run_worker(temporal_settings, task_queue, workflows=[AuditLogWorkflow]):
        for event in events[:8]:
            await trail.record_event(event)
        # Concurrent appends may meet a run that is continuing as new.
        await asyncio.gather(*(trail.record_event(event) for event in events[8:]))

        got = await trail.query_events(epoch_id=epoch)
        assert got[:8] == events[:8]
        assert sorted(got[8:], key=lambda e: e.payload["i"]) == events[8:]
        info = (
            await temporal_settings.get_workflow_handle(audit_workflow_id(epoch)).describe()
        ).raw_description.workflow_execution_info
        assert info.execution.run_id != info.first_run_id  # it did continue as new


def test_make_audit_trail_temporal(settings: Any) -> None:
    settings.TEMPORAL_TASK_QUEUE = "aura-x"
    trail = make_audit_trail("temporal")
    assert isinstance(trail, TemporalAuditTrail)
    assert describe(trail) == "TemporalAuditTrail on task queue aura-x"
    assert make_audit_trail("temporal", task_queue="q").task_queue == "q"
    assert "temporal" in BACKEND_CHOICES


async def test_the_worker_hook_gives_the_trail_the_workers_queue() -> None:
    from audit import activities

    await init_worker_trail(WorkerConfig(audit_trail="temporal", task_queue="aura-w"))
    assert isinstance(activities._trail, TemporalAuditTrail)
    assert activities._trail.task_queue == "aura-w"


def test_audit_workflow_is_served_on_the_aura_queue() -> None:
    (aura,) = [q for q in registered_queues() if q.key == "aura"]
    assert AuditLogWorkflow in aura.workflows


@pytest.mark.parametrize(("backend", "errors"), [("temporal", []), ("redis", ["aura.E001"])])
def test_the_system_check(settings: Any, backend: str, errors: list[str]) -> None:
    settings.AURA_AUDIT_TRAIL = backend
    found = check_audit_trail(None)
    assert [e.id for e in found] == errors
    if found:
        assert "temporal" in found[0].hint
