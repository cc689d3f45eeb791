"""Recurring crises: the one service that keeps a `CrisisSchedule` row and its Temporal Schedule
in step, and records every change in the audit trail.

The row is the truth. Each change commits the row and its audit event first, then, after the
commit, makes Temporal's schedule match it (`push`). When Temporal cannot be reached the change
stays recorded, the row's `sync_state` turns `error` with the reason, and
`manage.py sync_schedules` (or the next change) repairs it; nothing is lost and the request does
not fail. Triggering and backfilling need Temporal at once: they answer `Unavailable` instead.
Each firing of a schedule records an ordinary crisis through `fire` (called by the
`record_scheduled_crisis` activity of `ScheduledCrisisWorkflow`).
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from temporalio.client import ScheduleDescription
from temporalio.service import RPCError

from audit.services import record_event
from aura_site.errors import DomainError
from aura_site.temporal import TemporalUnavailable, get_client, run_sync
from crises.inputs import ScheduledCrisisInput
from crises.models import CrisisSchedule, ScheduleSyncState
from crises.schedule_specs import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    count_firings,
    cron_error,
)
from crises.services import temporal_schedules as remote
from crises.services.starting import trigger_crisis
from crises.validation import MAX_SCHEDULE_NAME_LENGTH, request_errors

logger = logging.getLogger(__name__)

SUBJECT_KIND = "crisis_schedule"
MAX_BACKFILL_FIRINGS = 100
MAX_BACKFILL_WINDOW = timedelta(days=31)
_NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_SPEC_FIELDS = ("target", "missions", "cron", "interval_seconds", "paused")
# Temporal's failures when it is down or refuses: the change stays recorded, sync_state says so.
_TEMPORAL_ERRORS = (TemporalUnavailable, RPCError, RuntimeError)


class InvalidSchedule(DomainError):
    """Raised when a crisis schedule breaks the rules; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        field, messages = next(iter(errors.items()))
        super().__init__(f"{field}: {messages[0]}", errors=errors)


@dataclass(frozen=True)
class Change:
    """One repair `sync_schedules` makes: `create`, `update` or `delete` of a Temporal schedule."""

    action: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.action} {remote.schedule_id(self.name)}: {self.reason}"


def _audit(name: str, event_type: str, *, actor: str, key: str | None = None, **payload: Any):
    return record_event(
        subject_kind=SUBJECT_KIND,
        subject_id=name,
        event_type=event_type,
        actor=actor,
        payload=payload,
        idempotency_key=key,
    )


def schedule_errors(fields: Mapping[str, Any], *, creating: bool) -> dict[str, list[str]]:
    """Return what is wrong with a schedule's fields (all of them), keyed by field."""
    errors: dict[str, list[str]] = {}
    if creating:
        name = fields.get("name")
        if not isinstance(name, str) or not name:
            errors["name"] = ["This field is required."]
        elif len(name) > MAX_SCHEDULE_NAME_LENGTH or not set(name) <= _NAME_CHARACTERS:
            errors["name"] = [
                f"Use 1 to {MAX_SCHEDULE_NAME_LENGTH} letters, digits, hyphens or underscores."
            ]
    errors |= request_errors(fields.get("target"), fields.get("missions"))
    cron, interval = fields.get("cron") or "", fields.get("interval_seconds")
    if bool(cron) == (interval is not None):
        errors["cron"] = ["Give either a cron expression or an interval, not both or neither."]
    elif cron and (message := cron_error(cron)):
        errors["cron"] = [message]
    elif interval is not None and not MIN_INTERVAL_SECONDS <= interval <= MAX_INTERVAL_SECONDS:
        errors["interval_seconds"] = [
            f"Must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS} seconds."
        ]
    return errors


def _with_defaults(missions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"priority": 1, **mission} for mission in missions]


def _after_commit(schedule: CrisisSchedule) -> None:
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: push(schedule), robust=True)
    else:
        push(schedule)


def create_schedule(*, user: Any = None, actor: str = "", **fields: Any) -> CrisisSchedule:
    """Record a crisis schedule and create its Temporal schedule after the commit.

    Takes `name`, `target`, `missions`, `cron` or `interval_seconds`, and `paused`.

    Raises:
        InvalidSchedule: the fields break the rules (nothing is stored).
    """
    if errors := schedule_errors(fields, creating=True):
        raise InvalidSchedule(errors)
    try:
        with transaction.atomic():
            schedule = CrisisSchedule.objects.create(
                name=fields["name"],
                target=fields["target"],
                missions=_with_defaults(fields["missions"]),
                cron=fields.get("cron") or "",
                interval_seconds=fields.get("interval_seconds"),
                paused=bool(fields.get("paused", False)),
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
            _audit(schedule.name, "schedule_created", actor=actor, **_described(schedule))
    except IntegrityError:  # the unique name: no check-then-insert race
        raise InvalidSchedule(
            {"name": ["A crisis schedule with this name already exists."]}
        ) from None
    _after_commit(schedule)
    return schedule


def _described(schedule: CrisisSchedule) -> dict[str, Any]:
    return {name: getattr(schedule, name) for name in _SPEC_FIELDS}


def update_schedule(schedule: CrisisSchedule, *, actor: str, **changes: Any) -> CrisisSchedule:
    """Change a schedule's target, missions, cron or interval, or paused; then Temporal's.

    Raises:
        InvalidSchedule: the schedule would break the rules (nothing changes).
    """
    if "name" in changes and changes.pop("name") != schedule.name:
        raise InvalidSchedule({"name": ["The name of a schedule cannot change."]})
    if "cron" in changes and changes["cron"]:
        changes.setdefault("interval_seconds", None)
    if changes.get("interval_seconds") is not None:
        changes.setdefault("cron", "")
    merged = {**_described(schedule), **changes}
    if errors := schedule_errors(merged, creating=False):
        raise InvalidSchedule(errors)
    merged["missions"] = _with_defaults(merged["missions"])
    merged["cron"] = merged["cron"] or ""
    with transaction.atomic():
        schedule = CrisisSchedule.objects.select_for_update().get(pk=schedule.pk)
        before = _described(schedule)
        changed = {k: [before[k], v] for k, v in merged.items() if before[k] != v}
        if changed:
            for name, value in merged.items():
                setattr(schedule, name, value)
            schedule.sync_state = ScheduleSyncState.PENDING
            schedule.save()
            _audit(schedule.name, "schedule_updated", actor=actor, changes=changed)
    if changed or schedule.sync_state != ScheduleSyncState.SYNCED:
        _after_commit(schedule)
    return schedule


def set_paused(
    schedule: CrisisSchedule, paused: bool, *, actor: str, note: str = ""
) -> CrisisSchedule:
    """Pause or resume a schedule (recorded only when it changes); then Temporal's."""
    with transaction.atomic():
        schedule = CrisisSchedule.objects.select_for_update().get(pk=schedule.pk)
        changed = schedule.paused != paused
        if changed:
            schedule.paused = paused
            schedule.sync_state = ScheduleSyncState.PENDING
            schedule.save(update_fields=["paused", "sync_state", "updated_at"])
            event = "schedule_paused" if paused else "schedule_resumed"
            _audit(schedule.name, event, actor=actor, note=note)
    if changed or schedule.sync_state != ScheduleSyncState.SYNCED:
        _after_commit(schedule)
    return schedule


def delete_schedule(schedule: CrisisSchedule, *, actor: str) -> None:
    """Delete a schedule's row, then its Temporal schedule (its crises stay).

    When Temporal cannot be reached, `sync_schedules` deletes the schedule later: an
    Aura-owned schedule without a row is never left to fire (and a firing of one records
    nothing).
    """
    name = schedule.name
    with transaction.atomic():
        CrisisSchedule.objects.filter(pk=schedule.pk).delete()
        _audit(name, "schedule_deleted", actor=actor, target=schedule.target)

        def drop() -> None:
            try:
                run_sync(_delete_remote(remote.schedule_id(name)))
            except _TEMPORAL_ERRORS as exc:
                logger.warning("Could not delete the Temporal schedule of %s: %s", name, exc)

        transaction.on_commit(drop, robust=True)


async def _delete_remote(temporal_id: str) -> bool:
    return await remote.delete(await get_client(), temporal_id)


async def _push_remote(schedule: CrisisSchedule) -> str | None:
    """Make Temporal's schedule match the row; return what was done (None: nothing)."""
    client = await get_client()
    want = remote.desired(schedule)
    description = await remote.describe(client, schedule.name)
    if description is None:
        await remote.create(client, schedule.name, want)
        return "create"
    if found := await remote.differences(client, want, description.schedule):
        await remote.replace(client, schedule.name, want)
        return f"update ({', '.join(found)})"
    return None


def push(schedule: CrisisSchedule) -> CrisisSchedule:
    """Make Temporal's schedule match the row and record the outcome in `sync_state`.

    Returns the row as pushed (`schedule` itself is updated too).
    """
    current = CrisisSchedule.objects.filter(pk=schedule.pk).first()
    if current is None:  # deleted meanwhile: its deletion removes the Temporal schedule
        return schedule
    try:
        run_sync(_push_remote(current))
    except _TEMPORAL_ERRORS as exc:
        logger.warning("Crisis schedule %s is not in sync with Temporal: %s", current.name, exc)
        _mark(current, ScheduleSyncState.ERROR, error=str(exc) or type(exc).__name__)
    else:
        _mark(current, ScheduleSyncState.SYNCED)
    for name in ("sync_state", "sync_error", "synced_at"):
        setattr(schedule, name, getattr(current, name))
    return current


def _mark(schedule: CrisisSchedule, state: str, *, error: str = "") -> None:
    now = timezone.now()
    synced_at = now if state == ScheduleSyncState.SYNCED else schedule.synced_at
    # Only the version pushed is marked: a change committed meanwhile keeps its own state.
    CrisisSchedule.objects.filter(pk=schedule.pk, updated_at=schedule.updated_at).update(
        sync_state=state, sync_error=error, synced_at=synced_at
    )
    schedule.sync_state, schedule.sync_error, schedule.synced_at = state, error, synced_at


def _in_step(schedule: CrisisSchedule) -> None:
    """Make sure Temporal has the schedule as the row says, or raise TemporalUnavailable."""
    schedule = push(schedule)
    if schedule.sync_state == ScheduleSyncState.ERROR:
        raise TemporalUnavailable(
            f"Temporal cannot take crisis schedule {schedule.name} now: {schedule.sync_error}"
        )


def trigger_schedule(schedule: CrisisSchedule, *, actor: str) -> None:
    """Fire a schedule now (even a paused one): one more crisis, recorded as its firings are.

    Raises:
        TemporalUnavailable: Temporal cannot be reached (nothing fired).
    """
    _in_step(schedule)
    try:
        run_sync(_trigger_remote(schedule.name))
    except _TEMPORAL_ERRORS as exc:
        raise TemporalUnavailable(f"Temporal refused the trigger: {exc}") from exc
    _audit(schedule.name, "schedule_triggered", actor=actor)


async def _trigger_remote(name: str) -> None:
    await remote.trigger(await get_client(), name)


def _backfill_firings(schedule: CrisisSchedule, start: Any, end: Any) -> int:
    """Return how many times `schedule` fires in a backfill window.

    Raises:
        InvalidSchedule: the window is not in the past, too long, or holds no firing (or too
            many).
    """
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise InvalidSchedule({"start": ["Give a start and an end time."]})
    if end <= start:
        raise InvalidSchedule({"end": ["The end must be after the start."]})
    if end > timezone.now():
        raise InvalidSchedule(
            {"end": ["A backfill covers the past: the end cannot be in the future."]}
        )
    if end - start > MAX_BACKFILL_WINDOW:
        raise InvalidSchedule(
            {"start": [f"A backfill covers at most {MAX_BACKFILL_WINDOW.days} days."]}
        )
    firings = count_firings(
        start,
        end,
        cron=schedule.cron,
        interval_seconds=schedule.interval_seconds,
        limit=MAX_BACKFILL_FIRINGS,
    )
    if firings > MAX_BACKFILL_FIRINGS:
        raise InvalidSchedule(
            {"start": [f"The window holds more than {MAX_BACKFILL_FIRINGS} firings."]}
        )
    if firings == 0:
        raise InvalidSchedule({"start": ["The schedule does not fire in this window."]})
    return firings


def backfill_schedule(
    schedule: CrisisSchedule, *, start: datetime, end: datetime, actor: str
) -> int:
    """Fire a schedule for each time it would have fired in [start, end]; return how many.

    Raises:
        InvalidSchedule: the window is not in the past, too long, or holds no firing.
        TemporalUnavailable: Temporal cannot be reached (nothing fired).
    """
    firings = _backfill_firings(schedule, start, end)
    _in_step(schedule)
    try:
        run_sync(_backfill_remote(schedule.name, start, end))
    except _TEMPORAL_ERRORS as exc:
        raise TemporalUnavailable(f"Temporal refused the backfill: {exc}") from exc
    _audit(
        schedule.name,
        "schedule_backfilled",
        actor=actor,
        start=start.isoformat(),
        end=end.isoformat(),
        firings=firings,
    )
    return firings


async def _backfill_remote(name: str, start: datetime, end: datetime) -> None:
    await remote.backfill(await get_client(), name, start, end)


def describe_schedule(schedule: CrisisSchedule) -> ScheduleDescription | None:
    """Return Temporal's description (next and recent firings); None when it has none or is
    unreachable."""
    try:
        return run_sync(_describe_remote(schedule.name))
    except _TEMPORAL_ERRORS as exc:
        logger.info("Cannot describe crisis schedule %s: %s", schedule.name, exc)
        return None


async def _describe_remote(name: str) -> ScheduleDescription | None:
    return await remote.describe(await get_client(), name)


def fire(request: ScheduledCrisisInput, *, firing_id: str, actor: str) -> str:
    """Record (and start) the crisis of one firing; return its crisis id.

    `firing_id` (the firing workflow's id, unique per scheduled time) is the crisis's
    idempotency key: a repeat returns the crisis the first call made. A firing of a
    schedule Aura no longer has records nothing and returns "".
    """
    schedule = CrisisSchedule.objects.filter(name=request.schedule).first()
    if schedule is None:
        logger.warning("Firing %s of an unknown crisis schedule: nothing recorded", firing_id)
        return ""
    trigger = trigger_crisis(
        target=request.target,
        missions=remote.mission_dicts(request),
        initiated_by=request.initiated_by or f"schedule:{schedule.name}",
        actor=actor,
        idempotency_key=firing_id,
        schedule=schedule,
    )
    crisis_id = trigger.record.crisis_id
    _audit(
        schedule.name,
        "schedule_fired",
        actor=actor,
        key=f"{firing_id}:fired",
        crisis_id=crisis_id,
        firing_workflow_id=firing_id,
    )
    return crisis_id


async def _plan(rows: list[CrisisSchedule]) -> list[Change]:
    client = await get_client()
    changes = []
    for schedule in rows:
        description = await remote.describe(client, schedule.name)
        if description is None:
            changes.append(Change("create", schedule.name, "missing in Temporal"))
        elif found := await remote.differences(
            client, remote.desired(schedule), description.schedule
        ):
            changes.append(Change("update", schedule.name, f"differs: {', '.join(found)}"))
    names = {schedule.name for schedule in rows}
    for temporal_id in await remote.owned_ids(client):
        name = temporal_id.removeprefix(remote.SCHEDULE_ID_PREFIX)
        # The list lags behind deletions: a schedule deleted a moment ago may still be listed.
        if name not in names and await remote.describe(client, name) is not None:
            changes.append(Change("delete", name, "no crisis schedule in Aura"))
    return changes


async def _apply(change: Change, schedule: CrisisSchedule | None) -> None:
    client = await get_client()
    if change.action == "delete":
        await remote.delete(client, remote.schedule_id(change.name))
    elif change.action == "create":
        assert schedule is not None
        await remote.create(client, change.name, remote.desired(schedule))
    else:
        assert schedule is not None
        await remote.replace(client, change.name, remote.desired(schedule))


def sync_schedules(*, dry_run: bool = False, actor: str = "") -> list[Change]:
    """Repair drift between the rows and Aura's Temporal schedules, in both directions.

    A row without a Temporal schedule gets one; a Temporal schedule that differs from its row
    (spec, paused, action, policy) is overwritten; an Aura-owned Temporal schedule without a row
    is deleted. Schedules of others are never touched. Returns the changes (made unless
    `dry_run`); each one made is audited.

    Raises:
        TemporalUnavailable: Temporal cannot be reached.
    """
    rows = {schedule.name: schedule for schedule in CrisisSchedule.objects.all()}
    try:
        changes = run_sync(_plan(list(rows.values())))
    except (RPCError, RuntimeError) as exc:
        raise TemporalUnavailable(f"Temporal cannot be read: {exc}") from exc
    if dry_run:
        return changes
    for change in changes:
        try:
            run_sync(_apply(change, rows.get(change.name)))
        except (RPCError, RuntimeError) as exc:
            raise TemporalUnavailable(f"{change} failed: {exc}") from exc
        _audit(
            change.name,
            "schedule_synced",
            actor=actor,
            change=change.action,
            reason=change.reason,
        )
    changed = {change.name for change in changes}
    for name, schedule in rows.items():
        if name in changed or schedule.sync_state != ScheduleSyncState.SYNCED:
            _mark(schedule, ScheduleSyncState.SYNCED)
    return changes
