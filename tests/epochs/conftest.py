"""Epoch fixtures: a real worker serving the epoch workflows on a fresh task queue."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from audit.activities import init_audit_trail, query_audit_events, record_audit_event
from audit.trails import PostgresAuditTrail
from epochs.activities import ACTIVITIES
from epochs.inputs import EpochInput
from epochs.workflows import EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow

WORKFLOWS = [EpochWorkflow, SliceWorkflow, ReviewPhaseWorkflow]
ALL_ACTIVITIES = [*ACTIVITIES, record_audit_event, query_audit_events]


@pytest.fixture
def epoch_worker(run_worker: Callable[..., Any]) -> Callable[..., Any]:
    """Return a context manager running the epoch workflows + activities, Postgres audit."""

    @asynccontextmanager
    async def running(client: Client, task_queue: str) -> AsyncIterator[Any]:
        init_audit_trail(PostgresAuditTrail())
        try:
            async with run_worker(
                client, task_queue, workflows=WORKFLOWS, activities=ALL_ACTIVITIES
            ) as worker:
                yield worker
        finally:
            init_audit_trail(None)

    return running


@pytest.fixture
def start_epoch(task_queue: str) -> Callable[..., Any]:
    """Return a coroutine starting an EpochWorkflow with a fresh id (raw temporalio)."""

    async def start(client: Client, **options: Any) -> WorkflowHandle:
        epoch_id = f"epoch-{uuid.uuid4().hex[:10]}"
        return await client.start_workflow(
            EpochWorkflow.run,
            EpochInput(epoch_id, "test epoch", **options),
            id=epoch_id,
            task_queue=task_queue,
        )

    return start
