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


@pytest.fixture
def worker_thread(temporal_env: Any, task_queue: str, settings: Any) -> Any:
    """A real worker on its own thread and event loop, for sync tests (browser, live server).

    The app's views reach Temporal through the settings, as in production.
    """
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from temporalio.worker import Worker

    from aura_site import temporal
    from workers.interceptors import DatabaseConnectionInterceptor

    client = temporal_env.client
    settings.TEMPORAL_ADDRESS = client.service_client.config.target_host
    settings.TEMPORAL_NAMESPACE = client.namespace
    settings.TEMPORAL_TASK_QUEUE = task_queue
    temporal.set_client(None)
    init_audit_trail(PostgresAuditTrail())
    ready, loop_box = threading.Event(), {}

    async def serve() -> None:
        loop_box["loop"], loop_box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        own = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=client.namespace)
        with ThreadPoolExecutor(max_workers=10) as executor:
            async with Worker(
                own,
                task_queue=task_queue,
                workflows=WORKFLOWS,
                activities=ALL_ACTIVITIES,
                activity_executor=executor,
                interceptors=[DatabaseConnectionInterceptor()],
            ):
                ready.set()
                await loop_box["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "worker did not start"
    yield task_queue
    loop_box["loop"].call_soon_threadsafe(loop_box["stop"].set)
    thread.join(30)
    temporal.set_client(None)
    init_audit_trail(None)
