"""Checking the hash chain from Python, independently of the trigger that builds it."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

from django.db import connection

from audit.models import (
    CANONICAL_FIELDS,
    GENESIS_HASH,
    AuditEvent,
    ChainHead,
)

# The payload comes last in the canonical row, and is read as PostgreSQL's own jsonb text.
_FIELDS = CANONICAL_FIELDS[:-1]


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a walk along the chain."""

    checked: int
    broken_seq: int | None = None
    broken_id: str | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_seq is None


def canonical_row(values: dict, payload_text: str) -> str:
    """Return the row's canonical JSON exactly as the hash_chain trigger renders it.

    The payload comes as PostgreSQL's own jsonb text, which is already canonical (sorted keys,
    fixed spacing), so only the scalar columns are rendered here.
    """
    items = []
    for name in _FIELDS:
        value = values[name]
        if name == "id":
            value = str(value)
        elif name == "occurred_at":
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        items.append(json.dumps(value, ensure_ascii=False))
    items.append(payload_text)
    return "[" + ", ".join(items) + "]"


def row_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _rows(batch_size: int) -> Iterator[tuple[dict, str, str, str]]:
    columns = ", ".join(_FIELDS)
    sql = (
        f"SELECT {columns}, payload::text, prev_hash, hash FROM {AuditEvent._meta.db_table} "
        "WHERE seq > %s ORDER BY seq LIMIT %s"
    )
    last_seq = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last_seq, batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        for row in rows:
            values = dict(zip(_FIELDS, row[: len(_FIELDS)], strict=True))
            yield values, row[-3], row[-2], row[-1]
        last_seq = rows[-1][1]


def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order and report the first row that breaks it, if any."""
    expected_prev = GENESIS_HASH
    checked = 0
    row_id = None
    for values, payload_text, prev_hash, stored_hash in _rows(batch_size):
        seq, row_id = values["seq"], str(values["id"])
        if seq != checked + 1:
            return ChainReport(checked, seq, row_id, f"row #{checked + 1} is missing")
        if prev_hash != expected_prev:
            return ChainReport(checked, seq, row_id, "prev_hash does not match the previous row")
        if row_hash(prev_hash, canonical_row(values, payload_text)) != stored_hash:
            return ChainReport(checked, seq, row_id, "contents do not match the stored hash")
        expected_prev = stored_hash
        checked += 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and head.seq != checked:
        return ChainReport(
            checked, head.seq, None, f"the chain head expects {head.seq} rows, found {checked}"
        )
    if head is not None and head.hash != expected_prev:
        # The next append chains on the head's hash: a head pointing elsewhere forks the chain.
        return ChainReport(
            checked, head.seq, row_id, "the chain head's hash does not match the last row's"
        )
    return ChainReport(checked)
