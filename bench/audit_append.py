"""Benchmark: hash-chained audit append vs a plain insert of the same rows.

Runs against DATABASE_URL, or the embedded PostgreSQL of the dev stack, in a scratch database
that is created, migrated and dropped here. Both tables get the same INSERT statements with the
same parameters, interleaved round by round, so the ratio isolates what the chain costs (the
BEFORE INSERT trigger: the head-row lock and the UPDATE that computes the hash).

    .venv/bin/python bench/audit_append.py [--rows 2000] [--rounds 5]
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


def timed_inserts(cursor, table: str, batch: list[list]) -> float:
    """Insert `batch` one row per statement; seq is the trigger's job on the chained table."""
    sql = insert_sql(table)
    params = [[*row, 0 if table == "audit_auditevent" else next(_plain_seq)] for row in batch]
    started = time.perf_counter()
    for row in params:
        cursor.execute(sql, row)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows per table per round")
    parser.add_argument("--rounds", type=int, default=5)
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
            chained, plain = [], []
            timed_inserts(cursor, "audit_auditevent", rows(200))  # warm-up
            timed_inserts(cursor, "plain_audit", rows(200))
            for round_number in range(args.rounds):
                batch_a, batch_b = rows(args.rows), rows(args.rows)
                # Alternate which table goes first, so drift favours neither.
                if round_number % 2:
                    plain.append(timed_inserts(cursor, "plain_audit", batch_b))
                    chained.append(timed_inserts(cursor, "audit_auditevent", batch_a))
                else:
                    chained.append(timed_inserts(cursor, "audit_auditevent", batch_a))
                    plain.append(timed_inserts(cursor, "plain_audit", batch_b))
            from audit.chain import verify_chain

            report = verify_chain()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if server is not None:
            server.cleanup()

    per_row = lambda seconds: seconds / args.rows * 1e6  # noqa: E731
    chained_us = statistics.median(per_row(s) for s in chained)
    plain_us = statistics.median(per_row(s) for s in plain)
    print(f"rows per round: {args.rows}, rounds: {args.rounds} (autocommit, one row per INSERT)")
    print(f"plain insert:        {plain_us:8.1f} us/row  ({1e6 / plain_us:,.0f} rows/s)")
    print(f"hash-chained append: {chained_us:8.1f} us/row  ({1e6 / chained_us:,.0f} rows/s)")
    print(f"chain verified: {report.intact} ({report.checked} rows)")
    print(f"ratio chained/plain: {chained_us / plain_us:.2f}x (target <= 1.15x)")
    record(
        "audit: append ratio",
        {
            "rows_per_round": args.rows,
            "rounds": args.rounds,
            "plain_us_per_row": round(plain_us, 1),
            "chained_us_per_row": round(chained_us, 1),
            "ratio": round(chained_us / plain_us, 2),
            "chain_intact": report.intact,
        },
        "chained / plain <= 1.15x",
        chained_us / plain_us <= 1.15 and report.intact,
        load,
        f"chained {chained_us:.0f} us/row vs plain {plain_us:.0f}: {chained_us / plain_us:.2f}x",
    )


if __name__ == "__main__":
    main()
