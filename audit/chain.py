"""Checking the hash chain from Python, independently of the trigger that builds it."""

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection

from audit.models import (
    CANONICAL_FIELDS,
    GENESIS_HASH,
    AuditEvent,
    ChainHead,
)

# The payload comes last in the canonical row, and is read as PostgreSQL's own jsonb text.
_FIELDS = CANONICAL_FIELDS[:-1]
# How each scalar column is read: as the text the canonical row holds (the id's canonical form,
# the time in UTC to the microsecond, as the trigger renders it), so nothing is parsed into
# Python objects only to be formatted back.
_COLUMNS = {
    "id": "id::text",
    "occurred_at": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
}
# One encoder for every row: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


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


def canonical_row(scalars: Sequence, payload_text: str) -> str:
    """Return the row's canonical JSON exactly as the hash_chain trigger renders it.

    `scalars` are the CANONICAL_FIELDS but the payload, in order, the id and the time as text.
    The payload comes as PostgreSQL's own jsonb text, which is already canonical (sorted keys,
    fixed spacing), so only the scalar columns are rendered here.
    """
    return _encode(list(scalars))[:-1] + ", " + payload_text + "]"


def row_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _rows() -> Iterator[tuple]:
    """Yield (seq, *scalars, payload text, prev_hash, hash) in chain order.

    One COPY streams the whole chain: PostgreSQL reads ahead while the rows are hashed here,
    every row comes from one snapshot, and only the rows in flight are held in memory.
    """
    columns = ", ".join(_COLUMNS.get(name, name) for name in _FIELDS)
    sql = (
        f"COPY (SELECT seq, {columns}, payload::text, prev_hash, hash "
        f"FROM {AuditEvent._meta.db_table} ORDER BY seq) TO STDOUT"
    )
    types = ["int8", *("int8" if name == "seq" else "text" for name in _FIELDS)]
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types([*types, "text", "text", "text"])
        yield from copy.rows()


def verify_chain() -> ChainReport:
    """Walk the chain in order and report the first row that breaks it, if any."""
    expected_prev = GENESIS_HASH
    checked = 0
    row_id = None
    scalars = slice(1, len(_FIELDS) + 1)
    for row in _rows():
        seq, row_id, (payload_text, prev_hash, stored_hash) = row[0], row[1], row[-3:]
        if seq != checked + 1:
            return ChainReport(checked, seq, row_id, f"row #{checked + 1} is missing")
        if prev_hash != expected_prev:
            return ChainReport(checked, seq, row_id, "prev_hash does not match the previous row")
        if row_hash(prev_hash, canonical_row(row[scalars], payload_text)) != stored_hash:
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
