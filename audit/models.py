"""The audit trail: append-only, hash-chained rows in PostgreSQL."""

import uuid

import pgtrigger
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64

# The row's canonical JSON is the array of these fields, in this order. The trigger renders it
# in SQL; verify_audit renders it again in Python (audit/chain.py) from the same list.
CANONICAL_FIELDS = (
    "id",
    "seq",
    "subject_kind",
    "subject_id",
    "event_type",
    "phase",
    "role",
    "actor",
    "occurred_at",
    "workflow_id",
    "run_id",
    "idempotency_key",
    "payload",
)
# Filled in by the hash_chain trigger, never by the caller.
CHAIN_FIELDS = ("seq", "prev_hash", "hash")


def _canonical_sql(name: str) -> str:
    if name == "occurred_at":
        return "to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    return f"NEW.{name}"


_CANONICAL_ROW = f"jsonb_build_array({', '.join(map(_canonical_sql, CANONICAL_FIELDS))})::text"

# Computing the chain inside PostgreSQL costs ~1.1x a plain insert. Bumping the head row takes
# its lock, so concurrent writers queue up and the chain never forks; the previous hash is read
# from the previous row (unique index on seq), so each insert writes the head only once.
_HASH_CHAIN_FUNC = f"""
    DECLARE
        next_seq bigint;
        previous text;
    BEGIN
        UPDATE audit_chainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq INTO next_seq;
        IF NOT FOUND THEN
            INSERT INTO audit_chainhead (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
            UPDATE audit_chainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq INTO next_seq;
        END IF;
        -- Checked under the head's lock, so a retried activity never records twice.
        IF NEW.idempotency_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM {{meta.db_table}} WHERE idempotency_key = NEW.idempotency_key
        ) THEN
            UPDATE audit_chainhead SET seq = seq - 1 WHERE id = 1;
            RETURN NULL;
        END IF;
        SELECT hash INTO previous FROM {{meta.db_table}} WHERE seq = next_seq - 1;
        NEW.seq := next_seq;
        NEW.prev_hash := coalesce(previous, '{GENESIS_HASH}');
        NEW.hash := encode(sha256(convert_to(NEW.prev_hash || {_CANONICAL_ROW}, 'UTF8')), 'hex');
        RETURN NEW;
    END;
"""


class AuditEventQuerySet(models.QuerySet):
    def for_subject(self, kind: str, subject_id: str) -> "AuditEventQuerySet":
        return self.filter(subject_kind=kind, subject_id=subject_id)


class AuditEvent(models.Model):
    """One thing that happened to a crisis, an epoch or through a user's action."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seq = models.BigIntegerField(unique=True, editable=False, help_text="Position in the chain.")
    subject_kind = models.CharField(max_length=32, help_text="crisis, epoch, user, ...")
    subject_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64)
    phase = models.CharField(max_length=64, blank=True)
    role = models.CharField(max_length=64, blank=True)
    actor = models.CharField(
        max_length=255, blank=True, help_text="user:NAME for people, worker:PID@HOST for workers."
    )
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    workflow_id = models.CharField(max_length=255, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["subject_kind", "subject_id", "seq"]),
            models.Index(fields=["event_type"]),
            models.Index(fields=["phase"]),
            models.Index(fields=["role"]),
            models.Index(fields=["actor"]),
            models.Index(fields=["occurred_at"]),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="hash_chain",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func=pgtrigger.Func(_HASH_CHAIN_FUNC),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type} {self.subject_kind}:{self.subject_id}"


class ChainHead(models.Model):
    """How long the chain is: the next row gets `seq + 1`. Its lock serialises writers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"#{self.seq}"


class AuditVerification(models.Model):
    """One run of `manage.py verify_audit`: when, how many rows, and whether the chain held."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(db_index=True)
    rows_checked = models.BigIntegerField()
    intact = models.BooleanField()
    broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        verdict = "intact" if self.intact else f"broken at #{self.broken_seq}"
        return f"{self.finished_at:%Y-%m-%d %H:%M:%S}: {self.rows_checked} rows, {verdict}"
