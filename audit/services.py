"""Recording audit events: the one way rows get into the chain."""

import json
import uuid
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from audit.chain import ChainReport, verify_chain
from audit.models import CHAIN_FIELDS, AuditEvent, AuditVerification

_COLUMNS = tuple(
    field.column for field in AuditEvent._meta.concrete_fields if field.name not in CHAIN_FIELDS
)
# The hash_chain trigger fills seq, prev_hash and hash; it skips the row (no RETURNING row) when
# the idempotency key was recorded before, which the ORM's save() cannot express.
_INSERT = (
    f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(_COLUMNS)}, seq, prev_hash, hash) "
    f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}, 0, '', '') RETURNING seq, prev_hash, hash"
)


def user_actor(user: Any) -> str:
    """Return the actor string for a Django user (anonymous users have none)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return f"user:{user.get_username()}"


def record_event(
    *,
    subject_kind: str,
    subject_id: str,
    event_type: str,
    phase: str = "",
    role: str = "",
    actor: str = "",
    payload: dict[str, Any] | None = None,
    workflow_id: str = "",
    run_id: str = "",
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append an event to the chain and return it.

    With an `idempotency_key` seen before, nothing is appended and the earlier event is
    returned: an activity retried after a crash records its event exactly once.
    """
    event = AuditEvent(
        id=uuid.uuid4(),
        subject_kind=subject_kind,
        subject_id=subject_id,
        event_type=str(event_type),
        phase=str(phase),
        role=str(role),
        actor=actor,
        payload=payload or {},
        occurred_at=occurred_at or timezone.now(),
        workflow_id=workflow_id,
        run_id=run_id,
        idempotency_key=idempotency_key,
    )
    params = [getattr(event, name) for name in _COLUMNS]
    params[_COLUMNS.index("payload")] = json.dumps(event.payload)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        row = cursor.fetchone()
    if row is None:
        return AuditEvent.objects.get(idempotency_key=idempotency_key)
    event.seq, event.prev_hash, event.hash = row
    event._state.adding = False
    return event


def verify_and_record() -> ChainReport:
    """Walk the hash chain, store the outcome (for the metrics and the dashboard), return it."""
    started_at = timezone.now()
    report = verify_chain()
    AuditVerification.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        rows_checked=report.checked,
        intact=report.intact,
        broken_seq=report.broken_seq,
        reason=report.reason,
    )
    return report
