"""Benchmark: the audit trail at scale (issue 14, item 5).

    .venv/bin/python bench/audit_scale.py [--rows 1000000] [--writer-rows 3200]

In a scratch database (DATABASE_URL's server, else the embedded PostgreSQL; dropped after):
1. append throughput with 1, 4 and 16 concurrent writers, one row per INSERT on a connection
   each, through the hash-chain trigger; the chain is verified intact afterwards;
2. `--rows` chained rows created with INSERT ... SELECT generate_series in batches of 2,000
   (every row still goes through the trigger), then `manage.py verify_audit` run in a child
   process at 10% of the rows and at all of them: time and the child's peak RSS (flat memory:
   the peak must not grow with the rows);
3. GET /api/v1/audit-events/ filtered by subject and cursor-paginated (first and next page),
   through the whole Django stack but HTTP: p50/p95 over 200 requests.
Ratio against a baseline: the writers' throughput is compared with the single writer's, and with
plain inserts into the same table without the chain (`plain_audit`) by as many writers.
"""

import argparse
import itertools
import os
import subprocess
import sys
import threading
import time

from audit_append import insert_sql, rows
from common import (
    ROOT,
    api_client,
    load_average,
    percentile,
    record,
    scratch_database,
    setup_django,
)

# Rows per INSERT ... SELECT, each its own transaction. Every row leaves a version of the chain
# head that stays until its transaction ends, and the next row's UPDATE looks past all of them:
# a statement's cost grows with the square of its rows: 50,000 rows took 291 s as one
# statement and 12.6 s as 25 of 2,000 (docs/audit.md).
BATCH = 2_000
SUBJECTS = 2_000


def concurrent_appends(url: str, writers: int, total: int, table: str) -> float:
    """Append `total` rows split over `writers` connections at once; return rows/s.

    On `plain_audit` (the same table without the chain) the caller numbers the rows, as
    bench/audit_append.py does: the baseline that shows what the chain head's lock costs.
    """
    import psycopg

    per_writer = total // writers
    batches = [rows(per_writer) for _ in range(writers)]
    connections = [psycopg.connect(url, autocommit=True) for _ in range(writers)]
    start_line = threading.Barrier(writers + 1)
    numbers = itertools.count(int(time.time() * 1e6))

    def write(conn, batch) -> None:
        sql = insert_sql(table)
        chained = table == "audit_auditevent"
        start_line.wait()
        with conn.cursor() as cursor:
            for row in batch:
                cursor.execute(sql, [*row, 0 if chained else next(numbers)])

    threads = [
        threading.Thread(target=write, args=(conn, batch))
        for conn, batch in zip(connections, batches, strict=True)
    ]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for conn in connections:
        conn.close()
    return per_writer * writers / elapsed


def bulk_append(count: int, offset: int) -> None:
    """Append `count` rows with one INSERT ... SELECT per batch (the trigger chains each)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for first in range(offset, offset + count, BATCH):
            last = min(first + BATCH, offset + count) - 1
            cursor.execute(
                f"""
                INSERT INTO audit_auditevent (id, subject_kind, subject_id, event_type, phase,
                    role, actor, payload, occurred_at, workflow_id, run_id, idempotency_key,
                    seq, prev_hash, hash)
                SELECT gen_random_uuid(),
                    CASE WHEN i %% 2 = 0 THEN 'crisis' ELSE 'epoch' END,
                    CASE WHEN i %% 2 = 0 THEN 'crisis-bulk-' ELSE 'epoch-bulk-' END
                        || (i %% {SUBJECTS}),
                    (ARRAY['phase_started','phase_completed','vote_recorded'])[1 + i %% 3],
                    'phase-' || (i %% 7), 'agent', 'worker:1@bench',
                    jsonb_build_object('attempt', 1, 'note', repeat('x', 40)),
                    now() - interval '1 second' * (2000000 - i), 'wf-' || (i %% {SUBJECTS}),
                    'run', NULL, 0, '', ''
                FROM generate_series(%s, %s) AS i
                """,
                [first, last],
            )
        cursor.execute("ANALYZE audit_auditevent")


VERIFY = (
    "import resource, time, django; django.setup();"
    "from django.core.management import call_command;"
    "t = time.perf_counter(); call_command('verify_audit');"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def verify_in_child(url: str) -> tuple[float, float]:
    """Run verify_audit in a fresh process; return (seconds, peak RSS in MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", VERIFY],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak_kib = done.stdout.split()[-2:]
    return float(seconds), int(peak_kib) / 1024


def list_latencies(requests: int) -> list[float]:
    """Time filtered, cursor-paginated pages of GET /api/v1/audit-events/."""
    client, _ = api_client()
    client.get("/api/v1/audit-events/?limit=20")  # warm
    timings = []
    for i in range(requests // 2):
        subject = f"crisis-bulk-{i * 14 % SUBJECTS}"
        started = time.perf_counter()
        page = client.get(
            f"/api/v1/audit-events/?subject_kind=crisis&subject_id={subject}&limit=20"
        )
        timings.append(time.perf_counter() - started)
        assert page.status_code == 200 and page.json()["results"], page.content
        started = time.perf_counter()
        following = client.get(page.json()["next"])
        timings.append(time.perf_counter() - started)
        assert following.status_code == 200, following.content
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writer-rows", type=int, default=3200, help="rows per writer run")
    args = parser.parse_args()
    load = load_average()

    with scratch_database("aura_bench_audit") as url:
        setup_django(url)
        from django.db import connection

        from audit.chain import verify_chain

        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE plain_audit (LIKE audit_auditevent INCLUDING DEFAULTS "
                "INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
        throughput, plain_throughput = {}, {}
        for writers in (1, 4, 16):
            # Chained and plain back to back at each writer count: the load drifts.
            throughput[writers] = concurrent_appends(
                url, writers, args.writer_rows, "audit_auditevent"
            )
            plain_throughput[writers] = concurrent_appends(
                url, writers, args.writer_rows, "plain_audit"
            )
        report = verify_chain()
        tenth = args.rows // 10
        started = time.perf_counter()
        bulk_append(tenth, 1)
        bulk_seconds = time.perf_counter() - started
        verify_small = verify_in_child(url)
        started = time.perf_counter()
        bulk_append(args.rows - tenth, tenth + 1)
        bulk_seconds += time.perf_counter() - started
        verify_full = verify_in_child(url)
        list_times = list_latencies(200)

    total = report.checked + args.rows
    rates = {str(writers): round(rate) for writers, rate in throughput.items()}
    plain_rates = {str(writers): round(rate) for writers, rate in plain_throughput.items()}
    p50, p95 = percentile(list_times, 50) * 1000, percentile(list_times, 95) * 1000
    record(
        "audit: concurrent appends",
        {
            "rows_per_s_by_writers": rates,
            "plain_rows_per_s_by_writers": plain_rates,
            "chain_intact": report.intact,
            "rows": report.checked,
        },
        "chain intact under concurrent writers",
        report.intact,
        load,
        "rows/s by writers 1/4/16: "
        + " / ".join(f"{r:,}" for r in rates.values())
        + " (plain insert: "
        + " / ".join(f"{r:,}" for r in plain_rates.values())
        + ")",
    )
    record(
        "audit: verify_audit",
        {
            "rows": total,
            "seconds": round(verify_full[0], 1),
            "peak_rss_mib": round(verify_full[1]),
            "rows_small": report.checked + tenth,
            "seconds_small": round(verify_small[0], 1),
            "peak_rss_mib_small": round(verify_small[1]),
            "bulk_create_seconds": round(bulk_seconds),
        },
        "<= 30 s over 1,000,000 rows, flat memory",
        verify_full[0] <= 30 and verify_full[1] <= verify_small[1] * 1.2 and total >= 1_000_000,
        load,
        f"{total:,} rows in {verify_full[0]:.1f} s, peak RSS {verify_full[1]:.0f} MiB "
        f"({verify_small[1]:.0f} MiB at {report.checked + tenth:,})",
    )
    record(
        "audit: GET /audit-events/ at scale",
        {"rows": total, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "requests": 200},
        "p95 <= 20 ms at 1,000,000 rows",
        p95 <= 20 and total >= 1_000_000,
        load,
        f"{total:,} rows: p50 {p50:.1f} ms, p95 {p95:.1f} ms",
    )
    print(f"audit at scale: {total:,} chained rows (load average at start {load})")
    for writers, rate in throughput.items():
        plain = plain_throughput[writers]
        print(
            f"  append, {writers:>2} concurrent writers: {rate:8,.0f} rows/s "
            f"({rate / throughput[1]:.2f}x one writer); plain insert {plain:8,.0f} rows/s "
            f"({plain / plain_throughput[1]:.2f}x one writer): chained {rate / plain:.2f}x plain"
        )
    print(f"  chain intact after the concurrent writers: {report.intact} ({report.checked} rows)")
    print(f"  bulk creation of {args.rows:,} chained rows: {bulk_seconds:.0f} s")
    for label, (rows_checked, (seconds, peak)) in {
        "tenth": (report.checked + tenth, verify_small),
        "all": (total, verify_full),
    }.items():
        print(
            f"  verify_audit over {rows_checked:>9,} rows ({label}): {seconds:5.1f} s, "
            f"peak RSS {peak:.0f} MiB"
        )
    print("  (target: <= 30 s over 1,000,000 rows, peak RSS flat)")
    print(
        f"  GET /audit-events/ filtered, cursor pages: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        "(target p95 <= 20 ms)"
    )


if __name__ == "__main__":
    main()
