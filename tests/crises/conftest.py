"""Crisis fixtures: a worker serving the crisis workflow on the test's own task queue."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from aura_site import temporal
from aura_site.runs import outbox
from crises import services
from crises.activities import ACTIVITIES, SCHEDULE_ACTIVITIES
from crises.inputs import CrisisResult
from crises.models import Crisis
from crises.services import temporal_schedules
from crises.workflows import CrisisResponseWorkflow, ScheduledCrisisWorkflow
from workers.interceptors import DatabaseConnectionInterceptor

SEED_ACTIONS = ["recon", "secure", "extract", "cleanup"]


@pytest.fixture
def crisis_settings(settings: Any, task_queue: str) -> Any:
    """Crisis settings pointing at the test's task queue, with the seed's log dispatcher."""
    settings.CRISIS_TASK_QUEUE = task_queue
    settings.CRISIS_AGENT_DISPATCHER = "log"
    settings.CRISIS_AGENT_SCRIPT = {}
    return settings


@pytest.fixture
def crisis_worker(run_worker: Callable[..., Any], crisis_settings: Any, task_queue: str):
    """Return a context manager running the crisis workflow and activities for `client`."""

    def start(client: Client):
        return run_worker(
            client, task_queue, workflows=[CrisisResponseWorkflow], activities=ACTIVITIES
        )

    return start


@pytest.fixture
def skipping_client(time_skipping_env: Any) -> Iterator[Client]:
    """Make the app's shared client the time-skipping server's: retry backoffs take no time."""
    temporal.set_client(time_skipping_env.client)
    yield time_skipping_env.client
    temporal.set_client(None)


async def start_crisis(
    client: Client,
    target: str,
    missions: list[dict[str, Any]],
    *,
    initiated_by: str = "pytest",
) -> tuple[Crisis, WorkflowHandle]:
    """Record a crisis as the service does and start its workflow on `client`."""
    trigger = await sync_to_async(services.record_crisis)(
        target=target,
        missions=missions,
        initiated_by=initiated_by,
        task_queue=settings.CRISIS_TASK_QUEUE,
    )
    assert trigger.intent is not None
    start = await outbox.start_async(trigger.intent, client, result_type=CrisisResult)
    # The handle start_workflow returns lets the time-skipping server skip while we wait.
    assert start.handle is not None, start
    return trigger.record, start.handle


async def reload(crisis: Crisis) -> Crisis:
    return await Crisis.objects.prefetch_related("phases").aget(pk=crisis.pk)


def phase_table(crisis: Crisis) -> list[tuple[str, str, int]]:
    return [(phase.phase_id, phase.status, phase.attempts) for phase in crisis.phases.all()]


def phase_of(crisis: Crisis, phase_id: str):
    """Return a phase of a crisis loaded by `reload` (no query)."""
    return next(phase for phase in crisis.phases.all() if phase.phase_id == phase_id)


@pytest.fixture
def background_crisis_worker(temporal_settings: Client, crisis_settings: Any, task_queue: str):
    """Run a crisis worker on its own thread and loop, for sync tests (browser, live server)."""
    address = temporal_settings.service_client.config.target_host
    namespace = temporal_settings.namespace
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        client = await Client.connect(address, namespace=namespace)
        with ThreadPoolExecutor(max_workers=10) as executor:
            worker = Worker(
                client,
                task_queue=task_queue,
                workflows=[CrisisResponseWorkflow, ScheduledCrisisWorkflow],
                activities=[*ACTIVITIES, *SCHEDULE_ACTIVITIES],
                activity_executor=executor,
                interceptors=[DatabaseConnectionInterceptor()],
            )
            stop = asyncio.Event()
            state["loop"], state["stop"] = asyncio.get_running_loop(), stop
            async with worker:
                ready.set()
                await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the crisis worker did not start"
    yield
    state["loop"].call_soon_threadsafe(state["stop"].set)
    thread.join(30)


@pytest.fixture
def schedule_worker(run_worker, crisis_settings: Any, task_queue: str):
    """Return a context manager serving crises and schedule firings on the test's queue."""

    def start(client: Client):
        return run_worker(
            client,
            task_queue,
            workflows=[CrisisResponseWorkflow, ScheduledCrisisWorkflow],
            activities=[*ACTIVITIES, *SCHEDULE_ACTIVITIES],
        )

    return start


@pytest.fixture
async def owned_schedules_cleared(temporal_settings: Client):
    """Delete every Aura-owned schedule before and after: the dev server outlives each test."""

    async def clear() -> None:
        for temporal_id in await temporal_schedules.owned_ids(temporal_settings):
            await temporal_schedules.delete(temporal_settings, temporal_id)

    await clear()
    yield temporal_settings
    await clear()
