"""Start intents: the outbox rows that make a workflow start survive a Temporal outage."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class StartIntent(models.Model):
    """A workflow start committed with its record; pending until Temporal has accepted it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        STARTED = "started", "Started"
        FAILED = "failed", "Could not start"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject_kind = models.CharField(
        max_length=32, help_text="What the workflow runs, e.g. crisis."
    )
    subject_id = models.CharField(max_length=200)
    workflow_id = models.CharField(max_length=200, unique=True)
    workflow_type = models.CharField(max_length=200)
    task_queue = models.CharField(max_length=200)
    arguments = models.JSONField(
        help_text="The workflow's input as Temporal's JSON converter writes it."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    give_up_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="runs_pending_due",
            ),
        ]

    def __str__(self) -> str:
        return f"start of {self.workflow_id} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class OpenWait(models.Model):
    """A long-poll in progress, counted against its user's AURA_MAX_OPEN_WAITS."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    workflow_id = models.CharField(max_length=200)
    opened_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(
        help_text="When the slot frees itself if its wait never closes it (its process died)."
    )

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="runs_open_waits_per_user")]

    def __str__(self) -> str:
        return f"wait for {self.workflow_id} by user {self.user_id}"
