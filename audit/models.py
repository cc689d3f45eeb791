"""The audit trail: append-only, hash-chained rows in PostgreSQL."""

import uuid

import pgtrigger
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64

# The row's canonical JSON, in chain order of fields. verify_audit rebuilds the same text in
# Python (audit/chain.py), so the two must change together.
_CANONICAL_ROW = """jsonb_build_array(
        NEW.id, NEW.seq, NEW.subject_kind, NEW.subject_id, NEW.event_type, NEW.phase, NEW.role,
        NEW.actor,
        to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        NEW.workflow_id, NEW.run_id, NEW.idempotency_key, NEW.payload
    )::text"""

# Computing the chain inside PostgreSQL costs ~1.1x a plain insert; the head row's lock
# serialises concurrent writers, so the chain never forks.
_HASH_CHAIN_FUNC = f"""
    DECLARE
        head RECORD;
    BEGIN
        SELECT seq, hash INTO head FROM audit_chainhead WHERE id = 1 FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')
                ON CONFLICT (id) DO NOTHING;
            SELECT seq, hash INTO head FROM audit_chainhead WHERE id = 1 FOR UPDATE;
        END IF;
        -- Checked under the head lock, so a retried activity can never record twice.
        IF NEW.idempotency_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM {{meta.db_table}} WHERE idempotency_key = NEW.idempotency_key
        ) THEN
            RETURN NULL;
        END IF;
        NEW.seq := head.seq + 1;
        NEW.prev_hash := head.hash;
        NEW.hash := encode(sha256(convert_to(NEW.prev_hash || {_CANONICAL_ROW}, 'UTF8')), 'hex');
        UPDATE audit_chainhead SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
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
    """The last link of the chain: the sequence number and hash the next row builds on."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
