"""The dashboard stays fast with 100,000 crises: a bounded number of queries, each indexed."""

import time

import pytest
from django.db import connection
from django.test import Client as DjangoClient
from temporalio.client import Client

from tests.bulk import insert_crises

CRISES = 100_000


def insert_history() -> None:
    """Insert 100,000 crises over ~35 days (tests/bulk.py) and a few hundred epochs."""
    insert_crises(CRISES)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO epochs_epoch (id, epoch_id, request_description, current_phase, domain,
                status, blocker_count, last_error, run_id, request_fingerprint, created_at,
                updated_at)
            SELECT gen_random_uuid(), 'epoch-bulk-' || i, '', 'p' || (1 + i % 12), 'user',
                CASE WHEN i % 3 = 0 THEN 'running' ELSE 'failed' END, 0, 'boom', '', '',
                now() - i * interval '1 minute', now() - i * interval '1 minute'
            FROM generate_series(1, 300) AS i
            """
        )
        cursor.execute("ANALYZE crises_crisis; ANALYZE crises_crisisphase; ANALYZE epochs_epoch")


@pytest.mark.django_db
def test_the_dashboard_with_100k_crises(
    admin_client: DjangoClient, temporal_settings: Client, django_assert_max_num_queries
) -> None:
    insert_history()
    admin_client.get("/admin/")  # warm: session, permissions, the Temporal connection
    timings = []
    for _ in range(5):
        with django_assert_max_num_queries(17) as captured:
            started = time.perf_counter()
            response = admin_client.get("/admin/")
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    page = response.content.decode()
    assert '<span class="count">69900</span>Completed' in page
    assert 'id="queues-error"' not in page
    best = min(timings)
    print(
        f"\ndashboard with {CRISES} crises: {len(captured.captured_queries)} queries, "
        f"best {best * 1000:.0f} ms, median {sorted(timings)[2] * 1000:.0f} ms"
    )
    # The target is 300 ms; the bound leaves room for a loaded 2-core machine.
    assert best < 1.0
