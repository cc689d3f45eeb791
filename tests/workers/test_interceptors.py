"""The worker's activities never inherit a stale database connection."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from aura_site.db import fresh_connections
from workers.interceptors import DatabaseConnectionInterceptor


@activity.defn
def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@activity.defn
def connection_was_closed() -> bool:
    return connection.connection is None


@workflow.defn(sandboxed=False)
class TwoActivitiesWorkflow:
    @workflow.run
    async def run(self) -> bool:
        timeout = timedelta(seconds=10)
        await workflow.execute_activity(backend_pid, start_to_close_timeout=timeout)
        return await workflow.execute_activity(
            connection_was_closed, start_to_close_timeout=timeout
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("interceptors", "closed"), [([DatabaseConnectionInterceptor()], True), ([], False)]
)
async def test_connections_are_closed_around_each_activity(
    time_skipping_env: WorkflowEnvironment, task_queue: str, interceptors: list, closed: bool
) -> None:
    # One thread, so the second activity sees what the first left behind (CONN_MAX_AGE is 0
    # in tests: close_old_connections() closes after every activity).
    with ThreadPoolExecutor(max_workers=1) as executor:
        async with Worker(
            time_skipping_env.client,
            task_queue=task_queue,
            workflows=[TwoActivitiesWorkflow],
            activities=[backend_pid, connection_was_closed],
            activity_executor=executor,
            interceptors=interceptors,
        ):
            result = await time_skipping_env.client.execute_workflow(
                TwoActivitiesWorkflow.run, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
            )
    assert result is closed


@workflow.defn(sandboxed=False)
class PidTwiceWorkflow:
    @workflow.run
    async def run(self) -> list[int]:
        timeout = timedelta(seconds=10)
        return [
            await workflow.execute_activity(backend_pid, start_to_close_timeout=timeout)
            for _ in range(2)
        ]


@pytest.mark.django_db(transaction=True)
async def test_persistent_connections_are_reused_by_the_thread(
    time_skipping_env: WorkflowEnvironment, task_queue: str, settings
) -> None:
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    with ThreadPoolExecutor(max_workers=1) as executor:
        async with Worker(
            time_skipping_env.client,
            task_queue=task_queue,
            workflows=[PidTwiceWorkflow],
            activities=[backend_pid],
            activity_executor=executor,
            interceptors=[DatabaseConnectionInterceptor()],
        ):
            first, second = await time_skipping_env.client.execute_workflow(
                PidTwiceWorkflow.run, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
            )
        settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
        executor.submit(_close_thread_connection).result()
    assert first == second


def _close_thread_connection() -> None:
    """Run nothing through the hygiene wrapper, which closes the thread's expired connection."""
    fresh_connections(lambda: None)()
