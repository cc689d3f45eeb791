"""The admin index is the operator dashboard: every panel, permission-scoped, Temporal or not."""

import asyncio
import datetime as dt
import re
import socket
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client as DjangoClient
from django.utils import timezone
from temporalio.client import Client

from audit.models import AuditVerification
from aura_site import temporal
from aura_site.dashboard.charts import nice_max
from crises.dashboard import activity_chart
from crises.models import Crisis
from tests.conftest import user_with
from tests.workers.sleepy import SleepyWorkflow

INDEX = "/admin/"


@pytest.fixture
def temporal_down(settings) -> None:
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"  # nothing listens there
    temporal.set_client(None)
    yield
    temporal.set_client(None)


def panel(page: str, key: str) -> str:
    """Return the HTML of one panel of the dashboard page (empty when it is not shown)."""
    found = re.search(rf'<section [^>]*id="panel-{key}".*?</section>', page, re.S)
    return found.group(0) if found else ""


@pytest.mark.django_db
def test_every_panel_with_its_links(admin_client: DjangoClient, records, temporal_down) -> None:
    page = admin_client.get(INDEX).content.decode()
    counts = panel(page, "crisis-counts")
    assert re.search(
        r'href="/admin/crises/crisis/\?status__exact=completed"[^>]*>\s*'
        r'<span class="count">4</span>Completed',
        counts,
    )
    assert re.search(r'<span class="count">1</span>Partial failure', counts)
    assert re.search(r'status__exact=running"[^>]*>\s*<span class="count">1</span>Running', counts)
    epochs = panel(page, "epoch-counts")
    assert re.search(r'status__exact=failed"[^>]*>\s*<span class="count">1</span>Failed', epochs)

    chart = panel(page, "crisis-activity")
    assert 'role="img"' in chart and '<title id="hourly-title">' in chart
    assert "Per hour over the last 24 hours (UTC): 6 started, 3 completed, 2 failed" in chart
    phases = panel(page, "epoch-phases")
    assert 'href="/admin/epochs/epoch/?phase=p4"' in phases and "p4 Review: 1" in phases

    failures = panel(page, "crisis-failures")
    assert failures.index("crisis-fail-1") < failures.index("crisis-part-1")  # newest first
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; agent down" in failures
    assert "<script>" not in failures
    assert "perimeter breached" in failures  # a partial failure's first failed phase
    assert f'href="/admin/crises/crisis/{records["failed"].pk}/change/"' in failures
    assert "slice &lt;b&gt;crashed&lt;/b&gt;" in panel(page, "epoch-failures")

    running = panel(page, "crisis-running")
    assert '<progress max="3" value="1"' in running and "1/3" in running
    assert "crisis-run-1" in running and "crisis-done-0" not in running
    assert 'href="/admin/crises/crisis/stuck/"' in running
    epochs_running = panel(page, "epoch-running")
    assert "e-run" in epochs_running and "4/12" in epochs_running
    assert 'class="step current"' in epochs_running
    assert 'href="/admin/epochs/epoch/stuck/"' in epochs_running

    pending = panel(page, "pending-starts")
    assert "crisis-workflow-crisis-wait-1" in pending and "connection refused" in pending
    assert 'href="/admin/crises/crisis/?q=crisis-wait-1"' in pending
    assert "waiting to start (attempt 3)" in pending

    audit = panel(page, "audit-chain")
    assert "Intact" in audit and "1234 rows verified" in audit
    assert 'id="queues-error"' in panel(page, "task-queues")
    assert 'id="content-main"' in page and "/admin/crises/crisis/add/" in page  # the model list


@pytest.mark.django_db
def test_temporal_down_still_renders(admin_client: DjangoClient, temporal_down) -> None:
    response = admin_client.get(INDEX)
    assert response.status_code == 200
    queues = panel(response.content.decode(), "task-queues")
    assert "Temporal at 127.0.0.1:1 cannot be reached" in queues and "Connection refused" in queues


@pytest.mark.django_db
def test_panels_follow_view_permissions(client: DjangoClient, records, temporal_down) -> None:
    client.force_login(user_with("crisis-viewer", "crises.view_crisis", is_staff=True))
    page = client.get(INDEX).content.decode()
    for key in ("crisis-counts", "crisis-activity", "crisis-failures", "crisis-running"):
        assert panel(page, key), key
    for key in ("epoch-counts", "epoch-phases", "epoch-failures", "epoch-running", "audit-chain"):
        assert not panel(page, key), key
    pending = panel(page, "pending-starts")
    assert "crisis-wait-1" in pending and "e-wait" not in pending
    assert panel(page, "task-queues")

    client.force_login(user_with("auditor", "audit.view_auditevent", is_staff=True))
    page = client.get(INDEX).content.decode()
    assert panel(page, "audit-chain")
    assert not panel(page, "crisis-counts") and not panel(page, "task-queues")
    assert not panel(page, "pending-starts")


@pytest.mark.django_db
def test_the_audit_panel_says_never_verified_then_names_the_broken_row(
    admin_client: DjangoClient, temporal_down
) -> None:
    audit = panel(admin_client.get(INDEX).content.decode(), "audit-chain")
    assert "Never verified" in audit and "manage.py verify_audit" in audit
    now = timezone.now()
    AuditVerification.objects.create(
        started_at=now,
        finished_at=now,
        rows_checked=41,
        intact=False,
        broken_seq=42,
        reason="contents do not match the stored hash",
    )
    audit = panel(admin_client.get(INDEX).content.decode(), "audit-chain")
    assert "Broken at row #42" in audit and "contents do not match the stored hash" in audit


@pytest.mark.django_db
def test_the_hourly_chart_counts_each_hour() -> None:
    now = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)

    def at(hours_ago: float) -> dt.datetime:
        return now - dt.timedelta(hours=hours_ago)

    rows = [
        ("completed", 0.2, 0.1),
        ("failed", 1.1, 0.9),
        ("completed", 25, 24.9),  # before the window
        ("running", 0.4, None),
    ]
    for index, (status, started, ended) in enumerate(rows):
        Crisis.objects.create(
            crisis_id=f"c-{index}",
            workflow_id=f"w-{index}",
            target="target",
            status=status,
            started_at=at(started),
            completed_at=at(ended) if ended is not None else None,
        )
    chart = activity_chart(now)
    values = {}
    for bar in chart.bars:
        values.setdefault(bar.css, []).append(bar.value)
    assert values["bar-started"][-1] == 2 and values["bar-started"][-2] == 1
    assert values["bar-completed"][-1] == 1 and sum(values["bar-completed"]) == 1
    assert values["bar-failed"][-2] == 1 and sum(values["bar-failed"]) == 1
    assert len(values["bar-started"]) == 24
    assert chart.description.endswith("3 started, 1 completed, 1 failed or partial failure.")


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (450, 500)]
)
def test_the_axis_top_is_round(value: int, top: int) -> None:
    assert nice_max(value) == top


@pytest.mark.django_db(transaction=True)
async def test_task_queues_show_backlog_and_pollers(
    temporal_settings: Client, settings, run_worker
) -> None:
    settings.TEMPORAL_TASK_QUEUE = idle = f"idle-{uuid.uuid4()}"
    settings.CRISIS_TASK_QUEUE = served = f"served-{uuid.uuid4()}"
    temporal.set_client(temporal_settings)
    admin = DjangoClient()
    await sync_to_async(admin.force_login)(
        await User.objects.acreate(username="root", is_staff=True, is_superuser=True)
    )
    for index in range(2):
        await temporal_settings.start_workflow(
            "NobodyRunsThis", id=f"backlog-{uuid.uuid4()}-{index}", task_queue=idle
        )
    async with run_worker(temporal_settings, served, workflows=[SleepyWorkflow]):
        queues = ""
        for _ in range(50):
            page = (await sync_to_async(admin.get)(INDEX)).content.decode()
            queues = panel(page, "task-queues")
            idle_row = re.search(
                rf'data-queue="{idle}" data-kind="workflow">.*?</tr>', queues, re.S
            )
            served_row = re.search(
                rf'data-queue="{served}" data-kind="workflow">.*?</tr>', queues, re.S
            )
            if (
                idle_row
                and '<td class="backlog">2</td>' in idle_row.group(0)
                and served_row
                and "no worker polls it" not in served_row.group(0)
            ):
                break
            await asyncio.sleep(0.2)
        assert idle_row and '<td class="backlog">2</td>' in idle_row.group(0), queues
        assert "no worker polls it" in idle_row.group(0)
        assert served_row and temporal.identity() in served_row.group(0), queues


@pytest.mark.django_db
def test_a_silent_temporal_costs_the_page_two_seconds(
    admin_client: DjangoClient, settings
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.TEMPORAL_ADDRESS = f"127.0.0.1:{silent.getsockname()[1]}"
        temporal.set_client(None)
        started = time.perf_counter()
        response = admin_client.get(INDEX)
        elapsed = time.perf_counter() - started
    temporal.set_client(None)
    assert response.status_code == 200
    assert "no answer within 2 s" in panel(response.content.decode(), "task-queues")
    assert 1.9 < elapsed < 5
