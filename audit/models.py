"""The audit trail: append-only, hash-chained rows in PostgreSQL."""

import uuid

import pgtrigger
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64

# The row's canonical JSON is the array of these fields, in this order. The trigger renders it
# in SQL (audit/migrations/0003_chain_head_hash.py); verify_audit renders it again in Python
# (audit/chain.py) from this list.
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
        ]
        # The BEFORE INSERT `audit_hash_chain` trigger is plain SQL (migration 0003), not a
        # pgtrigger: pgtrigger wraps every function in its `pgtrigger.ignore` check, a
        # subtransaction per row, and that session setting would let a writer skip the chain.

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type} {self.subject_kind}:{self.subject_id}"


class ChainHead(models.Model):
    """The chain's last row: its seq and hash. Its row lock serialises writers.

    The trigger bumps it with one UPDATE that also computes the new row's hash, so an append
    reads no previous row; `prev_hash` keeps the hash it replaced (UPDATE ... RETURNING only
    sees new values), which is the new row's prev_hash.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    prev_hash = models.CharField(max_length=64, default=GENESIS_HASH)

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
