"""Asking Temporal about a crisis: look it up, cancel it, refresh it, wait for it."""

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from temporalio.service import RPCError

from aura_site.runs import executions, outbox, waits
from aura_site.temporal import TemporalUnavailable, run_sync
from crises import records
from crises.exceptions import CrisisNotActive, CrisisNotFound
from crises.models import Crisis

logger = logging.getLogger(__name__)

R = TypeVar("R")

MAX_WAIT_SECONDS = 60
CANCELLED_UNSTARTED = "cancelled before it started"


def get_crisis(reference: str) -> Crisis:
    """Return the crisis whose crisis id or workflow id is `reference`.

    Raises:
        CrisisNotFound: when there is none.
    """
    try:
        return Crisis.objects.by_reference(reference.strip())
    except Crisis.DoesNotExist:
        raise CrisisNotFound(reference) from None


def cancel_crisis(crisis: Crisis, *, actor: str, reason: str = "") -> Crisis:
    """Ask a running crisis to stop: the current mission stops, the rest is skipped.

    The workflow finalizes the record as `cancelled`; this returns before it has. A crisis
    still waiting to start is cancelled here and then, with no call to Temporal needed.

    Raises:
        CrisisNotActive: when the crisis has already ended.
        TemporalUnavailable: when Temporal cannot be reached.
    """
    with transaction.atomic():
        crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
        if not crisis.is_active:
            raise CrisisNotActive(
                f"Crisis {crisis.crisis_id} has already ended ({crisis.get_status_display()})."
            )
        if crisis.cancel_requested_at is None:
            crisis.cancel_requested_by = actor
            crisis.cancel_requested_at = timezone.now()
            crisis.save(update_fields=["cancel_requested_by", "cancel_requested_at", "updated_at"])
            records.audit(
                crisis.crisis_id,
                "crisis_cancel_requested",
                key="cancel_requested",
                actor=actor,
                reason=reason,
            )
    intent = outbox.intent_for(crisis.workflow_id)
    if intent is not None and intent.is_pending:
        outbox.fail(intent, CANCELLED_UNSTARTED)
        crisis.refresh_from_db()
    try:
        note = f"cancelled by {actor}" + (f": {reason}" if reason else "")
        known = run_sync(executions.cancel_execution(crisis.workflow_id, note))
    except TemporalUnavailable:
        if not crisis.is_active:  # it never started: nothing left to tell Temporal
            return crisis
        raise
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal refused the cancel request: {exc}") from exc
    if not known:  # the workflow never started: nothing else will close the record
        crisis = records.fail_unfinished(crisis, CANCELLED_UNSTARTED, actor=actor)
    return crisis


def refresh_crisis(crisis: Crisis) -> Crisis:
    """Return the crisis as recorded, closing it if its workflow ended without saying so.

    Temporal may be down: the record is then returned as it stands.
    """
    crisis.refresh_from_db()
    return _closed_if_unrecorded(crisis) or crisis


def _closed_if_unrecorded(crisis: Crisis) -> Crisis | None:
    """Close an open record whose workflow ended without saying so; None when nothing changed."""
    if not crisis.is_active:
        return None
    reason = executions.check_run(crisis.workflow_id, created_at=crisis.created_at)
    if reason is None:
        return None
    return records.fail_unfinished(crisis, reason, actor="")


def settled(crisis: Crisis, read: Callable[[uuid.UUID], tuple[R, str]]) -> tuple[R, bool]:
    """Return what `read` makes of the crisis after a wait, and whether it ended.

    `read(pk)` returns the crisis as the caller shows it and its status. It is called once
    when the crisis ended or still runs, again only after closing a record whose workflow
    ended without saying so (as `refresh_crisis` does).
    """
    shown, crisis.status = read(crisis.pk)
    if _closed_if_unrecorded(crisis) is not None:
        shown, crisis.status = read(crisis.pk)
    return shown, not crisis.is_active


def wait_for_crisis(crisis: Crisis, *, timeout: float) -> tuple[Crisis, bool]:
    """Wait up to `timeout` seconds for the crisis to end; return it and whether it ended."""
    crisis.refresh_from_db()
    if crisis.is_active and timeout > 0:
        run_sync(_wait_closed(crisis, timeout))
    crisis = refresh_crisis(crisis)
    return crisis, not crisis.is_active


async def await_crisis(
    crisis: Crisis,
    *,
    timeout: float,
    user: AbstractBaseUser,
    read: Callable[[uuid.UUID], tuple[R, str]],
) -> tuple[R, bool]:
    """Wait as `wait_for_crisis` does, on the caller's event loop, in one of `user`'s slots.

    The long-poll of the API: no thread waits, and a user has at most AURA_MAX_OPEN_WAITS open.
    `crisis` is the record as the caller has just read it (it is not read again before the
    wait); after it, `read` gives the answer, as `settled` says.

    Raises:
        TooManyOpenWaits: when the user has that many waits open already.
    """
    if crisis.is_active and timeout > 0:
        async with waits.holding_slot(user, workflow_id=crisis.workflow_id, timeout=timeout):
            await _wait_closed(crisis, timeout)
    return await sync_to_async(settled)(crisis, read)


async def _wait_closed(crisis: Crisis, timeout: float) -> None:
    try:
        await executions.wait_closed(crisis.workflow_id, min(timeout, MAX_WAIT_SECONDS))
    except (TemporalUnavailable, RPCError) as exc:
        logger.warning("Cannot wait for crisis %s: %s", crisis.crisis_id, exc)
