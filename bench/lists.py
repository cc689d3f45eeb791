"""Benchmark: lists at 100,000 crises and 100,000 epochs (issue 14, item 6).

    .venv/bin/python bench/lists.py [--rows 100000] [--repeat 50]

In a scratch database (dropped after), `--rows` crises (three phases for one in ten) and
`--rows` epochs are inserted with INSERT ... SELECT generate_series. Then, through the whole
Django stack but HTTP (token authentication for the API, a superuser session for the admin):
- filtered, ordered first pages of GET /api/v1/crises/ and /api/v1/epochs/: p50/p95;
- the crisis and epoch admin changelists and the admin dashboard (a Temporal dev server runs,
  so the dashboard's task-queue panel is live): median and worst.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import (
    api_client,
    load_average,
    percentile,
    record,
    scratch_database,
    setup_django,
    temporal_dev_server,
)

API_PAGES = [
    "/api/v1/crises/?status=completed&ordering=-started_at&limit=20",
    "/api/v1/crises/?target=target-7&ordering=-completed_at&limit=20",
    "/api/v1/epochs/?status=running&ordering=-created_at&limit=20",
    "/api/v1/epochs/?phase=p3&ordering=-updated_at&limit=20",
]
ADMIN_PAGES = [
    "/admin/crises/crisis/",
    "/admin/crises/crisis/?status__exact=failed",
    "/admin/epochs/epoch/",
    "/admin/epochs/epoch/?status__exact=running",
    "/admin/",
]


def insert_rows(count: int) -> None:
    """Insert `count` crises over the last weeks (tests/bulk.py) and `count` epochs."""
    from django.db import connection

    from tests.bulk import insert_crises

    insert_crises(count)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO epochs_epoch (id, epoch_id, request_description, current_phase, domain,
                status, blocker_count, last_error, run_id, request_fingerprint, created_at,
                updated_at, completed_at)
            SELECT gen_random_uuid(), 'epoch-bulk-' || i, 'bulk epoch', 'p' || (1 + i %% 12),
                'user', CASE WHEN i %% 10 = 0 THEN 'running' ELSE 'completed' END, 0, '', '',
                '', now() - i * interval '1 minute', now() - i * interval '1 minute',
                CASE WHEN i %% 10 = 0 THEN NULL ELSE now() - i * interval '1 minute' END
            FROM generate_series(1, %s) AS i
            """,
            [count],
        )
        # As autovacuum leaves a table of that age (it is off on some development servers):
        # statistics, and a visibility map so that counts can read indexes alone.
        cursor.execute("VACUUM (ANALYZE) crises_crisis, crises_crisisphase, epochs_epoch")


def timings(client, url: str, repeat: int) -> list[float]:
    client.get(url)  # warm
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        found.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50, help="requests per API page")
    args = parser.parse_args()
    load = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="lists-bench-") as tmpdir,
        temporal_dev_server(Path(tmpdir)) as address,
        scratch_database("aura_bench_lists") as url,
    ):
        setup_django(url)
        from django.conf import settings
        from django.test import Client

        from aura_site import temporal

        settings.TEMPORAL_ADDRESS = address
        temporal.set_client(None)
        insert_rows(args.rows)
        api, user = api_client()
        api_times = {page: timings(api, page, args.repeat) for page in API_PAGES}
        admin = Client(SERVER_NAME="localhost")
        admin.force_login(user)
        admin_times = {page: timings(admin, page, 10) for page in ADMIN_PAGES}

    api_figures = {
        page: {
            "p50_ms": round(percentile(found, 50) * 1000, 1),
            "p95_ms": round(percentile(found, 95) * 1000, 1),
        }
        for page, found in api_times.items()
    }
    admin_figures = {
        page: {
            "median_ms": round(statistics.median(found) * 1000),
            "max_ms": round(max(found) * 1000),
        }
        for page, found in admin_times.items()
    }
    worst_api = max(f["p95_ms"] for f in api_figures.values())
    worst_admin = max(f["median_ms"] for f in admin_figures.values())
    record(
        "lists: API pages at 100,000 rows",
        {"rows": args.rows, "pages": api_figures},
        "filtered, ordered page p95 <= 25 ms at 100,000 crises and 100,000 epochs",
        worst_api <= 25 and args.rows >= 100_000,
        load,
        f"worst p95 {worst_api:.1f} ms",
    )
    record(
        "lists: admin changelists and dashboard",
        {"rows": args.rows, "pages": admin_figures},
        "each under 300 ms (median of 10)",
        worst_admin < 300 and args.rows >= 100_000,
        load,
        f"worst median {worst_admin} ms",
    )
    print(f"lists at {args.rows:,} crises and {args.rows:,} epochs (load average {load})")
    for page, f in api_figures.items():
        print(f"  {page:<66} p50 {f['p50_ms']:6.1f} ms  p95 {f['p95_ms']:6.1f} ms")
    print("  (target: p95 <= 25 ms)")
    for page, f in admin_figures.items():
        print(f"  {page:<66} median {f['median_ms']:4} ms  max {f['max_ms']:4} ms")
    print("  (target: < 300 ms)")


if __name__ == "__main__":
    main()
