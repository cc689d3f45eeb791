"""Running the worker: one process, one client, one Temporal worker per registered queue."""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from aura_site.runs.reconciler import run_reconciler
from aura_site.temporal import connect, set_client, settings_tls
from workers.conf import SOURCES, WorkerConfig
from workers.health import WorkerHealth, start_health_server
from workers.interceptors import worker_interceptors
from workers.metrics import start_metrics_server
from workers.registry import QueueRegistration, registered_queues, startup_hooks
from workers.sandbox import compile_workflow_modules

logger = logging.getLogger(__name__)

# How often the readiness probe's view of the Temporal server is refreshed, and how long one
# check may take.
SERVER_CHECK_INTERVAL_SECONDS = 2.0
SERVER_CHECK_TIMEOUT = timedelta(seconds=2)


class StoppedAtOnce(Exception):
    """Raised when a second signal stopped the worker before it finished draining."""


def select_queues(config: WorkerConfig) -> dict[str, QueueRegistration]:
    """Return the queues to serve by name, limited to `config.only` when given.

    Raises:
        ValueError: when `--only` names a queue nothing is registered on.
    """
    queues = {reg.name(config.task_queue): reg for reg in registered_queues()}
    unknown = sorted(set(config.only) - set(queues))
    if unknown:
        raise ValueError(
            f"no workflows or activities are registered on task queue {unknown[0]!r}; "
            f"registered: {', '.join(sorted(queues))}"
        )
    if config.only:
        queues = {name: reg for name, reg in queues.items() if name in config.only}
    return queues


def workflow_runner(config: WorkerConfig) -> WorkflowRunner:
    """Return the runner of the worker's workflows: in the SDK's sandbox only when asked.

    The sandbox re-imports a workflow's module for each run and checks every call the workflow
    makes; in temporalio 1.35 it also compiles a snippet of code for each payload a workflow
    task carries. Measured under bench/crisis_e2e.py it was a third of `runworker`'s CPU (66 vs
    45 ms per four-phase crisis). Outside it a workflow's determinism rests on its code: the
    workflow modules import nothing with side effects (no Django), the test suite runs every
    workflow in the sandbox, and recorded histories replay there (tests/histories), so a
    non-deterministic call fails the tests, not production.
    """
    return SandboxedWorkflowRunner() if config.sandbox else UnsandboxedWorkflowRunner()


def log_sources(config: WorkerConfig) -> None:
    logger.info("runworker: config resolution:")
    for name in SOURCES:
        value = getattr(config, name)
        logger.info("  %-15s %r (from: %s)", f"{name}:", value, config.sources.get(name))


async def watch_server(client: Client, health: WorkerHealth) -> None:
    """Keep `health.server_reachable` current, for the readiness probe."""
    while True:
        try:
            health.server_reachable = await client.service_client.check_health(
                timeout=SERVER_CHECK_TIMEOUT
            )
        except RPCError:  # unreachable, or it did not answer in time
            health.server_reachable = False
        await asyncio.sleep(SERVER_CHECK_INTERVAL_SECONDS)


async def serve(config: WorkerConfig, shutdown: asyncio.Event) -> None:
    """Serve the selected queues until `shutdown` is set, then drain and return."""
    if config.verbose:
        log_sources(config)
    queues = select_queues(config)
    if config.sandbox:
        compile_workflow_modules(wf for reg in queues.values() for wf in reg.workflows)
    for hook in startup_hooks():
        await hook(config)

    servers = []
    health = WorkerHealth()
    try:
        if config.health_bind:
            servers.append(start_health_server(*config.health_bind, health))
        runtime = None
        if config.metrics_bind:
            # The runtime must exist before the client: the client's workers report through it.
            runtime, metrics_server = start_metrics_server(*config.metrics_bind)
            servers.append(metrics_server)
        await serve_queues(config, queues, shutdown, health, runtime)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


async def serve_queues(
    config: WorkerConfig,
    queues: dict[str, QueueRegistration],
    shutdown: asyncio.Event,
    health: WorkerHealth,
    runtime: Runtime | None,
) -> None:
    """Connect, run one Temporal worker per queue until `shutdown` is set, then drain."""
    client = await connect(
        config.server_address,
        namespace=config.namespace,
        tls=settings_tls(),
        api_key=settings.TEMPORAL_API_KEY,
        attempts=config.connect_attempts,
        runtime=runtime,
    )
    # Activities that start or signal workflows use the worker's own connection.
    set_client(client)
    executor = ThreadPoolExecutor(
        max_workers=config.max_concurrent_activities * len(queues),
        thread_name_prefix="activity",
    )
    runner = workflow_runner(config)
    workers = []
    for name, registration in queues.items():
        workers.append(
            Worker(
                client,
                task_queue=name,
                workflows=registration.workflows,
                activities=registration.activities,
                activity_executor=executor,
                max_concurrent_activities=config.max_concurrent_activities,
                interceptors=worker_interceptors(),
                graceful_shutdown_timeout=timedelta(seconds=config.drain_timeout),
                workflow_runner=runner,
            )
        )
        for hook in registration.on_start:
            hook(logger, name)
        logger.info(
            "Worker running: namespace=%r task_queue=%r server=%r",
            config.namespace,
            name,
            config.server_address,
        )
    runs = [asyncio.create_task(worker.run()) for worker in workers]
    health.polling = True
    watch = asyncio.create_task(watch_server(client, health))
    stop = asyncio.create_task(shutdown.wait())
    # Pending workflow starts (the outbox) are every worker's job: they share the rows safely.
    reconciler = (
        asyncio.create_task(run_reconciler(client, shutdown)) if config.reconcile else None
    )
    try:
        done, _ = await asyncio.wait([stop, *runs], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop}:
            task.result()  # a worker that failed on its own: raise its error
        health.draining = True
        await asyncio.gather(*(worker.shutdown() for worker in workers))
        await asyncio.gather(*runs)
        logger.info("Worker stopped: in-flight activities drained.")
    finally:
        health.polling = False
        watch.cancel()
        stop.cancel()
        if reconciler is not None:
            reconciler.cancel()
        executor.shutdown(wait=False, cancel_futures=True)


async def run_until_signalled(config: WorkerConfig) -> None:
    """Serve until SIGINT/SIGTERM: the first drains, a second stops at once."""
    loop = asyncio.get_running_loop()
    shutdown = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if not shutdown.is_set():
            logger.info(
                "Received %s: draining in-flight activities (send again to stop now).", name
            )
            shutdown.set()
        else:
            logger.warning("Received %s again: stopping now.", name)
            main.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await serve(config, shutdown)
    except asyncio.CancelledError:
        raise StoppedAtOnce("worker stopped before in-flight activities finished") from None
