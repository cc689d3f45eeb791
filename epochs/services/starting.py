"""Starting an epoch: its row, its audit event and its start intent commit together.

The workflow starts right after the commit; when Temporal cannot take it, the epoch stays
`initiated`, waiting to start, and a reconciler starts it later.
"""

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When

from audit.services import record_event, user_actor
from aura_site.runs import outbox
from aura_site.runs.idempotency import create_once, fingerprint
from epochs import conf
from epochs.exceptions import EpochExists
from epochs.inputs import EpochInput
from epochs.models import Epoch
from epochs.protocol import PhaseId
from epochs.services.moves import SUBJECT_KIND, close_unfinished
from epochs.workflows import EpochWorkflow

EpochStart = outbox.Started[Epoch]


def new_epoch_id() -> str:
    """Return a fresh epoch id, e.g. `epoch-3f2a9c1d7b4e`."""
    return f"epoch-{uuid.uuid4().hex[:12]}"


def start_epoch(
    *,
    request_description: str,
    epoch_id: str | None = None,
    user: Any = None,
    actor: str = "",
    idempotency_key: str | None = None,
) -> EpochStart:
    """Record the epoch and start its EpochWorkflow right after the commit.

    Args:
        request_description: What the epoch is about (the p1 request).
        epoch_id: The workflow id; generated when omitted.
        user: The Django user starting it (recorded as `started_by` and audit actor).
        actor: Audit actor when there is no user (e.g. `cli`).
        idempotency_key: A repeat with the same key (per user) and the same request returns
            the same epoch and starts nothing.

    Raises:
        EpochExists: `epoch_id` is taken by another epoch.
        IdempotencyKeyReused: the key was used before for a different request.
    """
    user = user if getattr(user, "is_authenticated", False) else None
    digest = fingerprint(request_description, epoch_id or "")
    actor = user_actor(user) or actor
    made: dict[str, Any] = {}

    def create() -> Epoch:
        epoch = Epoch.objects.create(
            epoch_id=epoch_id or new_epoch_id(),
            request_description=request_description,
            started_by=user,
            idempotency_key=idempotency_key,
            request_fingerprint=digest,
        )
        record_event(
            subject_kind=SUBJECT_KIND,
            subject_id=epoch.epoch_id,
            event_type="epoch_started",
            phase=PhaseId.P1_Request,
            actor=actor,
            payload={"request_description": request_description},
            workflow_id=epoch.epoch_id,
        )
        made["intent"] = outbox.enqueue(
            subject_kind=SUBJECT_KIND,
            subject_id=epoch.epoch_id,
            workflow_id=epoch.epoch_id,
            workflow=EpochWorkflow,
            arg=EpochInput(
                epoch_id=epoch.epoch_id,
                request_description=request_description,
                continue_as_new_after=conf.continue_as_new_after(),
            ),
            task_queue=conf.task_queue(),
        )
        return epoch

    try:
        with transaction.atomic():
            epoch, created = create_once(
                Epoch,
                user_field="started_by",
                user=user,
                key=idempotency_key,
                digest=digest,
                create=create,
            )
    except IntegrityError:
        raise EpochExists(f"Epoch {epoch_id!r} already exists.") from None
    if not created:
        return EpochStart(epoch, created=False)
    return EpochStart(epoch, True, outbox.start_after_commit(made["intent"]))


def mark_started(epoch_id: str, run_id: str) -> None:
    """Outbox hook: Temporal took the start, so the epoch is running."""
    initiated = When(status=Epoch.Status.INITIATED, then=Value(Epoch.Status.RUNNING))
    Epoch.objects.filter(epoch_id=epoch_id).update(
        status=Case(initiated, default=F("status")), run_id=run_id
    )


def close_unstarted(epoch_id: str, error: str) -> None:
    """Outbox hook: the epoch's workflow will never start, so the record says why."""
    epoch = Epoch.objects.filter(epoch_id=epoch_id).first()
    if epoch is not None:
        close_unfinished(epoch, f"could not start: {error}")
