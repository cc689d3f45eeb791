"""Readiness checks of a web process: the database, its migrations, and Temporal.

Each check is bounded in time and reports a small dict without addresses or credentials, so
the answer can be public.
"""

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from temporalio.service import RPCError

from aura_site import temporal

TIMEOUT_SECONDS = 2

_migrations_applied = False


def check_database() -> dict[str, Any]:
    """Open a fresh connection with a short timeout and run `SELECT 1`.

    A connection of its own, not the request thread's: an unreachable server answers within
    the timeout instead of holding the thread for the operating system's TCP timeout.
    """
    params = {**connection.get_connection_params(), "connect_timeout": TIMEOUT_SECONDS}
    params.pop("cursor_factory", None)
    params.pop("context", None)
    try:
        with psycopg.connect(**params) as probe:
            probe.execute(f"SET statement_timeout = {TIMEOUT_SECONDS * 1000}")
            probe.execute("SELECT 1")
    except psycopg.Error as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_migrations() -> dict[str, Any]:
    """Report whether every migration the code knows is applied (remembered once it is)."""
    global _migrations_applied
    if not _migrations_applied:
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            return {"ok": False, "error": type(exc).__name__}
        if pending:
            return {"ok": False, "pending": len(pending)}
        _migrations_applied = True
    return {"ok": True}


async def _ping_temporal() -> bool:
    client = await temporal.get_client()
    return await client.service_client.check_health(timeout=timedelta(seconds=TIMEOUT_SECONDS))


def check_temporal() -> dict[str, Any]:
    """Ask the Temporal frontend for its health within the timeout."""
    try:
        serving = temporal.run_sync(asyncio.wait_for(_ping_temporal(), TIMEOUT_SECONDS + 0.5))
    except (temporal.TemporalUnavailable, RPCError, TimeoutError) as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True} if serving else {"ok": False, "error": "not serving"}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "migrations": check_migrations,
    "temporal": check_temporal,
}


def readiness() -> tuple[bool, dict[str, Any]]:
    """Run every check and return (all ok, the checks by name, each with its time in ms)."""
    checks = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        if name == "migrations" and not checks["database"]["ok"]:
            result = {"ok": False, "error": "database unavailable"}
        else:
            result = check()
        checks[name] = {**result, "ms": round((time.monotonic() - started) * 1000, 1)}
    return all(check["ok"] for check in checks.values()), checks
