"""The SQL of the crisis lists (issue 14, item 6): what kept them slow must not come back.

At 100,000 crises the list was a `SELECT DISTINCT` over every column (django-filter's default
for a multiple-choice filter), its count a `COUNT(*)` over that `DISTINCT` with the start-intent
subquery computed for every matching row, and the admin changelist a join with phases grouped
by every column. Each made PostgreSQL read and sort every match before returning a page.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aura_site.runs.models import StartIntent
from crises.models import Crisis
from epochs.models import Epoch
from tests.dashboard.conftest import crisis
from tests.perf.test_query_counts import token_client

ADMIN_LIST = "/admin/crises/crisis/"


def crisis_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if "crises_crisis" in query["sql"]]


@pytest.fixture
def crises(db) -> list[Crisis]:
    """Four crises, newest first: with phases, none, a pending start, and one filtered out."""
    found = [
        crisis("crisis-s-1", "completed", started_ago=1, ended_ago=0.5, phases=["completed"] * 3),
        crisis("crisis-s-2", "failed", started_ago=2, ended_ago=1.5, phases=["failed"]),
        crisis("crisis-s-3", "completed", started_ago=3, ended_ago=2.5),
        crisis("crisis-s-4", "cancelled", started_ago=4, ended_ago=3.5, phases=["skipped"]),
    ]
    now = timezone.now()
    StartIntent.objects.create(
        subject_kind="crisis",
        subject_id="crisis-s-3",
        workflow_id=found[2].workflow_id,
        workflow_type="CrisisResponseWorkflow",
        task_queue="crises",
        arguments={},
        attempts=2,
        next_attempt_at=now + dt.timedelta(seconds=5),
        give_up_at=now + dt.timedelta(hours=1),
    )
    return found


def test_api_list_has_no_distinct_and_counts_without_subqueries(crises) -> None:
    api = token_client()
    url = "/api/v1/crises/?status=completed&status=failed&ordering=-started_at&limit=2"
    with CaptureQueriesContext(connection) as captured:
        page = api.get(url)
    assert page.status_code == 200, page.content
    body = page.json()
    assert body["count"] == 3
    assert [row["crisis_id"] for row in body["results"]] == ["crisis-s-1", "crisis-s-2"]
    assert body["results"][0]["start"] is None
    queries = crisis_queries(captured)
    assert not [sql for sql in queries if "DISTINCT" in sql.upper()]
    counts = [sql for sql in queries if sql.startswith("SELECT COUNT(*)")]
    assert len(counts) == 1
    # A plain count: no nested SELECT (no DISTINCT subquery, no start-intent subquery per row).
    assert counts[0].count("SELECT") == 1 and "runs_startintent" not in counts[0]
    second = api.get(url.replace("limit=2", "limit=2&offset=2")).json()["results"]
    assert [row["crisis_id"] for row in second] == ["crisis-s-3"]
    assert second[0]["start"]["state"] == "pending" and second[0]["start"]["attempts"] == 2


def test_target_filter_can_use_its_index(crises) -> None:
    """`?target=` is case-insensitive: its SQL must match the UPPER(target) indexes, which give
    its pages by start or end without sorting the target's crises."""
    queryset = Crisis.objects.filter(target__iexact="TARGET-ALPHA").order_by("-started_at")
    assert len(queryset) == 4
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = queryset.explain()
        by_end = queryset.order_by("-completed_at").explain()
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_bitmapscan")
        # Its count can read the index alone only if the index holds `target` itself.
        cursor.execute("SELECT pg_get_indexdef('crises_target_iexact'::regclass)")
        (definition,) = cursor.fetchone()
    assert "crises_target_iexact " in plan and "Sort" not in plan
    assert "crises_target_iexact_completed" in by_end and "Sort" not in by_end
    assert definition.endswith("INCLUDE (target)")


def test_admin_changelist_counts_phases_per_row_without_grouping(
    admin_client: Client, crises
) -> None:
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(ADMIN_LIST)
    assert page.status_code == 200
    html = page.content.decode()
    for crisis_id, progress in [
        ("crisis-s-1", "3/3"),
        ("crisis-s-2", "1/1"),
        ("crisis-s-3", "0/0"),
        ("crisis-s-4", "0/1"),
    ]:
        assert re.search(rf"{crisis_id}.*?{progress}", html, re.S), crisis_id
    queries = crisis_queries(captured)
    assert not [sql for sql in queries if "GROUP BY" in sql]
    assert not [sql for sql in queries if 'JOIN "crises_crisisphase"' in sql]
    # One count (the page's), plain; no second count of every crisis.
    assert [sql for sql in queries if "COUNT(*)" in sql] == [
        'SELECT COUNT(*) AS "__count" FROM "crises_crisis"'
    ]


def test_filtered_changelist_counts_once(admin_client: Client, crises) -> None:
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(f"{ADMIN_LIST}?status__exact=completed")
    html = page.content.decode()
    assert "crisis-s-1" in html and "crisis-s-3" in html and "crisis-s-2" not in html
    assert len([sql for sql in crisis_queries(captured) if "COUNT(*)" in sql]) == 1


@pytest.mark.django_db
def test_epoch_pages_by_creation_or_change_need_no_sort() -> None:
    """An epoch page filtered by status or phase reads its order's index, not a sort of every
    match (at 100,000 epochs: 10,000 running ones sorted to return twenty)."""
    pages = [
        Epoch.objects.filter(status="running").order_by("-created_at"),
        Epoch.objects.filter(current_phase="p3").order_by("-updated_at"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plans = [page[:20].explain() for page in pages]
        cursor.execute("RESET enable_bitmapscan")
        cursor.execute("RESET enable_sort")
    assert "epochs_created_at" in plans[0] and "Sort" not in plans[0]
    assert "epochs_updated_at" in plans[1] and "Sort" not in plans[1]
