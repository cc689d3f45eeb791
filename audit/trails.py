"""AuditTrail backends: `postgres` (durable, default), `memory`, `sqlite:<path>` and `temporal`."""

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
from django.conf import settings
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from audit import services
from audit.activities import init_audit_trail
from audit.events import AuditEvent, AuditTrail
from audit.models import AuditEvent as AuditRow
from audit.workflows import (
    HISTORY_THRESHOLD,
    AuditLogInput,
    AuditLogWorkflow,
    Entry,
    audit_workflow_id,
)
from aura_site import temporal
from aura_site.db import db_sync_to_async
from aura_site.temporal import identity

logger = logging.getLogger(__name__)

BACKEND_CHOICES = ("postgres", "memory", "sqlite:<path>", "temporal")


class InMemoryAuditTrail:
    """Keeps events in a list; they are lost when the process exits."""

    def __init__(self) -> None:
        self._events: list[AuditEvent] = []

    async def record_event(self, event: AuditEvent) -> None:
        self._events.append(event)

    async def query_events(
        self, *, epoch_id: str | None = None, phase: str | None = None, role: str | None = None
    ) -> list[AuditEvent]:
        return [
            event
            for event in self._events
            if (epoch_id is None or event.epoch_id == epoch_id)
            and (phase is None or event.phase == phase)
            and (role is None or event.role == role)
        ]


class SqliteAuditTrail:
    """Keeps events in a local SQLite file (one `audit_events` table)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    async def ensure_schema(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(self.db_path) as db:
            await db.executescript(
                """
                CREATE TABLE IF NOT EXISTS audit_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    epoch_id TEXT NOT NULL, phase TEXT NOT NULL, role TEXT NOT NULL,
                    event_type TEXT NOT NULL, payload TEXT NOT NULL, timestamp TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS idx_epoch_id ON audit_events(epoch_id);
                CREATE INDEX IF NOT EXISTS idx_phase ON audit_events(phase);
                CREATE INDEX IF NOT EXISTS idx_role ON audit_events(role);
                """
            )
            await db.commit()
        logger.info("SqliteAuditTrail schema ensured at %s", self.db_path)

    async def record_event(self, event: AuditEvent) -> None:
        async with aiosqlite.connect(self.db_path) as db:
            await db.execute(
                "INSERT INTO audit_events (epoch_id, phase, role, event_type, payload, timestamp)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.epoch_id,
                    str(event.phase),
                    str(event.role),
                    str(event.event_type),
                    json.dumps(event.payload),
                    datetime.now(UTC).isoformat(),
                ),
            )
            await db.commit()

    async def query_events(
        self, *, epoch_id: str | None = None, phase: str | None = None, role: str | None = None
    ) -> list[AuditEvent]:
        filters = {"epoch_id": epoch_id, "phase": phase, "role": role}
        clauses = [(f"{column} = ?", str(value)) for column, value in filters.items() if value]
        where = " WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""
        async with aiosqlite.connect(self.db_path) as db:
            cursor = await db.execute(
                "SELECT epoch_id, event_type, phase, role, payload FROM audit_events"
                f"{where} ORDER BY id",
                [value for _, value in clauses],
            )
            rows = await cursor.fetchall()
        return [
            AuditEvent(epoch_id=e, event_type=t, phase=p, role=r, payload=json.loads(payload))
            for e, t, p, r, payload in rows
        ]


class PostgresAuditTrail:
    """Keeps epoch events in the hash-chained `audit.AuditEvent` table.

    Inside an activity the event carries the workflow ids and an idempotency key derived from
    the activity, so a retried activity records it once.
    """

    subject_kind = "epoch"

    async def record_event(self, event: AuditEvent) -> None:
        await _record_epoch_event(event, **_activity_context())

    async def query_events(
        self, *, epoch_id: str | None = None, phase: str | None = None, role: str | None = None
    ) -> list[AuditEvent]:
        return await _query_epoch_events(epoch_id=epoch_id, phase=phase, role=role)


class TemporalAuditTrail:
    """Keeps each epoch's events in its `AuditLogWorkflow`, so the trail needs no database.

    Recording is an update-with-start of that workflow: it returns once the event is appended,
    so a query right after sees it. Inside an activity the event's key is derived from the
    activity, so a retried activity appends it once; outside one every call appends.
    """

    def __init__(
        self,
        task_queue: str,
        *,
        client: Callable[[], Awaitable[Client]] = temporal.get_client,
        history_threshold: int = HISTORY_THRESHOLD,
    ) -> None:
        self.task_queue = task_queue
        self._client = client
        self.history_threshold = history_threshold

    async def record_event(self, event: AuditEvent) -> None:
        client = await self._client()
        event = AuditEvent(
            epoch_id=str(event.epoch_id),
            event_type=str(event.event_type),
            phase=str(event.phase),
            role=str(event.role),
            payload=event.payload,
        )
        key = _activity_context()["idempotency_key"] or f"call/{uuid.uuid4()}"
        await client.execute_update_with_start_workflow(
            AuditLogWorkflow.append,
            Entry(key=key, event=event),
            start_workflow_operation=WithStartWorkflowOperation(
                AuditLogWorkflow.run,
                AuditLogInput(epoch_id=event.epoch_id, history_threshold=self.history_threshold),
                id=audit_workflow_id(event.epoch_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            ),
        )

    async def query_events(
        self, *, epoch_id: str | None = None, phase: str | None = None, role: str | None = None
    ) -> list[AuditEvent]:
        """Return one epoch's matching events; events are kept per epoch, so one is required.

        Raises:
            ValueError: without an epoch_id.
        """
        if epoch_id is None:
            raise ValueError("the temporal audit trail answers per epoch: give an epoch_id")
        client = await self._client()
        handle = client.get_workflow_handle(audit_workflow_id(str(epoch_id)))
        try:
            return await handle.query(
                AuditLogWorkflow.events,
                args=[None if phase is None else str(phase), None if role is None else str(role)],
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # nothing recorded for this epoch yet
                return []
            raise


# The events the running activity attempt has recorded so far (each activity runs in its own
# context): an activity may record several, and each needs a key of its own.
_recorded: ContextVar[tuple[tuple[str, str, str, int], int] | None] = ContextVar(
    "audit_events_recorded", default=None
)


def _activity_context() -> dict[str, str | None]:
    """Return the ids of the activity recording an event, and the event's idempotency key.

    The key is `<workflow>/<run>/<activity>` for the activity's first event and gets `/<n>` for
    its n-th: a retried activity records its events in the same order, so it finds every key.
    """
    if not activity.in_activity():
        return {"workflow_id": "", "run_id": "", "idempotency_key": None, "actor": ""}
    info = activity.info()
    attempt = (info.workflow_id or "", info.workflow_run_id or "", info.activity_id, info.attempt)
    previous = _recorded.get()
    count = previous[1] + 1 if previous is not None and previous[0] == attempt else 1
    _recorded.set((attempt, count))
    key = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
    return {
        "workflow_id": info.workflow_id or "",
        "run_id": info.workflow_run_id or "",
        "idempotency_key": key if count == 1 else f"{key}/{count}",
        "actor": f"worker:{identity()}",
    }


async def _record_epoch_event(
    event: AuditEvent, *, workflow_id: str, run_id: str, idempotency_key: str | None, actor: str
) -> None:
    await db_sync_to_async(services.record_event)(
        subject_kind=PostgresAuditTrail.subject_kind,
        subject_id=event.epoch_id,
        event_type=str(event.event_type),
        phase=str(event.phase),
        role=str(event.role),
        actor=actor,
        payload=event.payload,
        workflow_id=workflow_id,
        run_id=run_id,
        idempotency_key=idempotency_key,
    )


async def _query_epoch_events(**filters: str | None) -> list[AuditEvent]:
    def query() -> list[AuditEvent]:
        rows = AuditRow.objects.filter(subject_kind=PostgresAuditTrail.subject_kind)
        if filters["epoch_id"] is not None:
            rows = rows.filter(subject_id=filters["epoch_id"])
        for name in ("phase", "role"):
            if filters[name] is not None:
                rows = rows.filter(**{name: str(filters[name])})
        return [
            AuditEvent(
                epoch_id=row.subject_id,
                event_type=row.event_type,
                phase=row.phase,
                role=row.role,
                payload=row.payload,
            )
            for row in rows.order_by("seq")
        ]

    return await db_sync_to_async(query)()


def make_audit_trail(backend: str, *, task_queue: str = "") -> AuditTrail:
    """Return the trail a `--audit-trail` / `AURA_AUDIT_TRAIL` value names.

    `task_queue` is where a `temporal` trail's audit workflows run (default: the
    TEMPORAL_TASK_QUEUE setting).

    Raises:
        ValueError: for an unknown backend or a `sqlite:` without a path.
    """
    if backend == "postgres":
        return PostgresAuditTrail()
    if backend == "memory":
        return InMemoryAuditTrail()
    if backend.startswith("sqlite:"):
        path = backend.removeprefix("sqlite:")
        if not path:
            raise ValueError("audit trail 'sqlite:' needs a path, e.g. sqlite:.aura/audit.db")
        return SqliteAuditTrail(Path(path).expanduser())
    if backend == "temporal":
        return TemporalAuditTrail(task_queue or settings.TEMPORAL_TASK_QUEUE)
    raise ValueError(
        f"unknown audit trail {backend!r}: choose one of {', '.join(BACKEND_CHOICES)}"
    )


def describe(trail: AuditTrail) -> str:
    """Return how the worker's startup log names a trail."""
    if isinstance(trail, SqliteAuditTrail):
        return f"SqliteAuditTrail at {trail.db_path}"
    if isinstance(trail, TemporalAuditTrail):
        return f"TemporalAuditTrail on task queue {trail.task_queue}"
    return type(trail).__name__


async def init_worker_trail(config: Any) -> None:
    """Worker start-up hook: give the audit activities the trail `--audit-trail` names."""
    trail = make_audit_trail(config.audit_trail, task_queue=config.task_queue)
    if isinstance(trail, SqliteAuditTrail):
        await trail.ensure_schema()
    init_audit_trail(trail)
    logger.info("Audit trail initialized (%s).", describe(trail))
