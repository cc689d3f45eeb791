"""Postgres records of epochs: the rows mirror what the EpochWorkflow did (it stays the source of
truth for execution). Written by services at start and by activities, idempotently."""

import uuid
from enum import StrEnum

from django.conf import settings
from django.db import models

from epochs.interfaces import ModelId
from epochs.protocol import (
    PHASE_SPECS,
    Domain,
    PhaseId,
    ReviewAxis,
    SeverityLevel,
    SliceMode,
    SliceStatus,
    VoteType,
)


def _choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]


def _status_choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """Return choices labelled as every status reads in the admin: capitalised."""
    return [(member.value, member.value.capitalize()) for member in enum]


PHASE_CHOICES = [(p.value, f"{p.value} {PHASE_SPECS[p].name}") for p in PHASE_SPECS] + [
    (PhaseId.Complete.value, "Complete")
]


class Epoch(models.Model):
    """One epoch of the Aura Protocol v3; `epoch_id` is its workflow id."""

    class Status(models.TextChoices):
        INITIATED = "initiated", "Initiated"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch_id = models.CharField(max_length=200, unique=True)
    request_description = models.TextField(blank=True)
    current_phase = models.CharField(
        max_length=16, choices=PHASE_CHOICES, default=PhaseId.P1_Request.value
    )
    domain = models.CharField(
        max_length=8, choices=_choices(Domain), default=Domain.User.value, blank=True
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INITIATED)
    blocker_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    run_id = models.CharField(max_length=64, blank=True, help_text="The first run's id.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="started_epochs",
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A repeated start with the same Idempotency-Key (per user) finds this row.
            models.UniqueConstraint(
                fields=["started_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                nulls_distinct=False,
                name="epochs_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["current_phase"]),
            models.Index(fields=["status"]),
            models.Index(fields=["domain"]),
            # The API's list pages by newest start or latest change: without these, a page
            # filtered by status or phase sorted every match (thousands) to return twenty.
            models.Index(fields=["-created_at"], name="epochs_created_at"),
            models.Index(fields=["-updated_at"], name="epochs_updated_at"),
        ]
        permissions = [
            ("advance_epoch", "Can advance an epoch's phase"),
            ("vote_epoch", "Can vote in an epoch's review"),
            ("record_blocker", "Can record and resolve review findings"),
            ("submit_slice", "Can submit worker slices"),
            ("run_slice_command", "Can submit slices that run commands on the worker"),
            ("register_session", "Can register agent sessions"),
            ("cancel_epoch", "Can cancel an epoch"),
            ("terminate_epoch", "Can terminate an epoch's workflow"),
        ]

    def __str__(self) -> str:
        return self.epoch_id

    @property
    def phase_number(self) -> int:
        """Return 1..12, or 13 once complete."""
        if self.current_phase == PhaseId.Complete:
            return 13
        return int(self.current_phase.removeprefix("p"))


class EpochTransition(models.Model):
    """One row of an epoch's transition history, refused attempts included.

    A move the workflow refused before taking it (a validated update) never reaches the
    workflow's history, so it has no `index`; its row keeps the refusal for the record.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="transitions")
    index = models.PositiveIntegerField(
        null=True, blank=True, help_text="Position in the workflow's history."
    )
    from_phase = models.CharField(max_length=16, choices=PHASE_CHOICES)
    to_phase = models.CharField(max_length=16, choices=PHASE_CHOICES)
    triggered_by = models.CharField(max_length=255, blank=True, help_text="The caller's label.")
    actor = models.CharField(max_length=255, blank=True, help_text="Who asked, authenticated.")
    condition_met = models.TextField(blank=True)
    success = models.BooleanField(default=True)
    error = models.TextField(blank=True, help_text="Why a refused move was refused.")
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["epoch", "occurred_at", "index"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "index"], name="epoch_transition_index")
        ]

    def __str__(self) -> str:
        mark = "" if self.success else " (refused)"
        return f"{self.epoch_id}: {self.from_phase} → {self.to_phase}{mark}"


class EpochVote(models.Model):
    """One review vote; `cycle` is the review round of the phase (0 outside a round)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="votes")
    sequence = models.PositiveIntegerField()
    phase = models.CharField(max_length=16, choices=PHASE_CHOICES)
    cycle = models.PositiveIntegerField(default=0)
    axis = models.CharField(max_length=16, choices=_choices(ReviewAxis))
    vote = models.CharField(max_length=8, choices=_choices(VoteType))
    reviewer_id = models.CharField(max_length=255, blank=True, help_text="The caller's label.")
    actor = models.CharField(max_length=255, blank=True, help_text="Who voted, authenticated.")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["epoch", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "sequence"], name="epoch_vote_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.epoch_id} {self.phase}#{self.cycle} {self.axis}={self.vote}"


class EpochBlocker(models.Model):
    """A code-review finding; only open BLOCKERs hold the p10 → p11 gate."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="blockers")
    blocker_id = models.CharField(max_length=200)
    severity = models.CharField(max_length=16, choices=_choices(SeverityLevel))
    description = models.TextField(blank=True)
    reported_by = models.CharField(max_length=255, blank=True)
    phase = models.CharField(max_length=16, choices=PHASE_CHOICES)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["epoch", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "blocker_id"], name="epoch_blocker_id")
        ]

    def __str__(self) -> str:
        return f"{self.epoch_id} {self.severity} {self.blocker_id}"


class EpochSlice(models.Model):
    """A p9 worker slice and its SliceWorkflow child."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="slices")
    slice_id = models.CharField(max_length=200)
    mode = models.CharField(max_length=16, choices=_choices(SliceMode))
    command = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=_status_choices(SliceStatus))
    workflow_id = models.CharField(max_length=255, blank=True)
    output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    submitted_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["epoch", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "slice_id"], name="epoch_slice_id")
        ]

    def __str__(self) -> str:
        return f"{self.epoch_id} slice {self.slice_id} ({self.status})"


class EpochSession(models.Model):
    """An agent session registered on an epoch (first registration wins)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="sessions")
    session_id = models.CharField(max_length=200)
    role = models.CharField(max_length=32, blank=True)
    model_harness = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ["epoch", "registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "session_id"], name="epoch_session_id")
        ]

    def __str__(self) -> str:
        return f"{self.epoch_id} session {self.session_id}"

    @property
    def model_id(self) -> ModelId | None:
        """Return the model as a `ModelId`, or None when it is a bare name such as "opus"."""
        try:
            return ModelId.parse(self.model)
        except ValueError:
            return None
