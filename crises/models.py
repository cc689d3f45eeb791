"""Crisis records: one `Crisis` per trigger and one `CrisisPhase` per mission phase."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Func, OuterRef, Q, Subquery
from django.db.models.functions import Upper
from django.utils import timezone

from crises.validation import MAX_FIELD_LENGTH, MAX_SCHEDULE_NAME_LENGTH, MAX_TARGET_LENGTH


class CrisisStatus(models.TextChoices):
    """Labels are capitalised like every status label in the admin; values are the API's."""

    INITIATED = "initiated"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL_FAILURE = "partial_failure", "Partial failure"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (CrisisStatus.INITIATED, CrisisStatus.RUNNING)


class PhaseStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class CrisisQuerySet(models.QuerySet):
    def by_reference(self, reference: str) -> "Crisis":
        """Return the crisis whose crisis id or workflow id is `reference`.

        Raises:
            Crisis.DoesNotExist: when neither matches.
        """
        return self.get(Q(crisis_id=reference) | Q(workflow_id=reference))

    def with_progress(self) -> "CrisisQuerySet":
        """Annotate phase counts: `total_count`, `completed_count`, `failed_count`.

        Each is a correlated subquery over the (crisis, position) index, not a join with
        GROUP BY: a grouped join aggregates every matching crisis before ORDER BY ... LIMIT
        can stop, while a subquery is computed only for the rows a page returns.
        """
        return self.annotate(
            total_count=_phase_count(),
            completed_count=_phase_count(status=PhaseStatus.COMPLETED),
            failed_count=_phase_count(status=PhaseStatus.FAILED),
        )


def _phase_count(**conditions: str) -> Subquery:
    """Return `SELECT COUNT(*)` of the outer crisis's phases (0, never null, when none)."""
    phases = CrisisPhase.objects.filter(crisis=OuterRef("pk"), **conditions).order_by()
    # COUNT as a plain function, so Django adds no GROUP BY: one row, 0 when no phase matches.
    return Subquery(
        phases.values(count=Func(F("pk"), function="COUNT")),
        output_field=models.IntegerField(),
    )


class ScheduleSyncState(models.TextChoices):
    SYNCED = "synced"
    PENDING = "pending"
    ERROR = "error"


class CrisisSchedule(models.Model):
    """A recurring crisis (a drill): what it targets and when Temporal's schedule fires it.

    Exactly one of `cron` and `interval_seconds` is set. The row is the truth; the Temporal
    schedule follows it (crises/services/schedules.py), and `sync_state` says whether it does.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(
        max_length=MAX_SCHEDULE_NAME_LENGTH,
        unique=True,
        help_text="Letters, digits, - and _; names its Temporal schedule. Cannot change.",
    )
    target = models.CharField(max_length=MAX_TARGET_LENGTH)
    missions = models.JSONField(default=list, help_text="The crisis missions, as when triggered.")
    cron = models.CharField(max_length=200, blank=True, help_text="e.g. 0 9 * * mon-fri (UTC)")
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    sync_state = models.CharField(
        max_length=10, choices=ScheduleSyncState.choices, default=ScheduleSyncState.PENDING
    )
    sync_error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(cron="") & Q(interval_seconds__isnull=False))
                | (~Q(cron="") & Q(interval_seconds__isnull=True)),
                name="crises_schedule_cron_or_interval",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def every(self) -> str:
        """Return the spec as an operator reads it."""
        return self.cron or f"every {self.interval_seconds} s"


class Crisis(models.Model):
    """A crisis response: its target, who started it, its status and its workflow."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    crisis_id = models.CharField(max_length=128, unique=True)
    workflow_id = models.CharField(max_length=160, unique=True)
    target = models.CharField(max_length=MAX_TARGET_LENGTH)
    status = models.CharField(
        max_length=20, choices=CrisisStatus.choices, default=CrisisStatus.INITIATED, db_index=True
    )
    initiated_by = models.CharField(
        max_length=MAX_TARGET_LENGTH, blank=True, help_text="Who asked for it, as they said it."
    )
    initiated_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    schedule = models.ForeignKey(
        CrisisSchedule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crises",
        help_text="The recurring crisis that fired it, if any.",
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    error = models.TextField(blank=True)
    cancel_requested_by = models.CharField(max_length=255, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    rerun_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reruns",
        help_text="The crisis this one re-runs (same target and missions).",
    )
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CrisisQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-created_at"]
        verbose_name_plural = "crises"
        constraints = [
            # A repeated trigger with the same Idempotency-Key (per user) finds this row.
            models.UniqueConstraint(
                fields=["initiated_by_user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                nulls_distinct=False,
                name="crises_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["target", "-started_at"]),
            # The API's `?target=` filter is case-insensitive (UPPER(target) = UPPER(%s)).
            # PostgreSQL scans an expression index alone only when it also holds the column,
            # hence `include`: the page's COUNT(*) then reads the index, not every match's row.
            models.Index(
                Upper("target"),
                F("started_at").desc(),
                include=["target"],
                name="crises_target_iexact",
            ),
            # The same filter by latest end: a page is then the index's first rows, not a sort
            # of every crisis of that target.
            models.Index(
                Upper("target"), F("completed_at").desc(), name="crises_target_iexact_completed"
            ),
            # The dashboard: finished per hour by status, and the latest failures.
            models.Index(fields=["status", "completed_at"], name="crises_status_completed"),
            models.Index(
                fields=["-completed_at"],
                condition=Q(status__in=["failed", "partial_failure"]),
                name="crises_latest_failures",
            ),
        ]
        permissions = [("terminate_crisis", "Can terminate a crisis's workflow")]

    def __str__(self) -> str:
        return self.crisis_id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self):
        """Return how long it ran (so far, while active)."""
        return (self.completed_at or timezone.now()) - self.started_at


class CrisisPhase(models.Model):
    """One mission phase of a crisis, in execution order (`position`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveIntegerField(help_text="0-based place in execution order.")
    phase_id = models.CharField(max_length=MAX_FIELD_LENGTH)
    agent_id = models.CharField(max_length=MAX_FIELD_LENGTH)
    action = models.CharField(max_length=MAX_FIELD_LENGTH)
    target = models.CharField(max_length=MAX_TARGET_LENGTH)
    priority = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=16, choices=PhaseStatus.choices, default=PhaseStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["crisis", "position"]
        constraints = [
            models.UniqueConstraint(fields=["crisis", "phase_id"], name="crises_unique_phase_id"),
            models.UniqueConstraint(fields=["crisis", "position"], name="crises_unique_position"),
        ]

    def __str__(self) -> str:
        return self.phase_id

    @property
    def timestamp(self):
        """Return the phase's timestamp: when it finished, else when it started."""
        return self.finished_at or self.started_at
