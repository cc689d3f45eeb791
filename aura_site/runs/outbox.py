"""Durable workflow starts: a start intent commits with the record, then Temporal is asked.

A service writes its record, its audit event and a `StartIntent` in one transaction
(`enqueue`), then calls `start_after_commit`: the fast path, which starts the workflow at once
and answers with a `StartOutcome` instead of raising. A start that fails for a passing reason,
or whose process died before trying, stays pending; every runworker's reconciler
(`aura_site.runs.reconciler`) retries it with backoff until it starts, is refused, or reaches
its give-up time. A start is never made twice: the workflow id is unique, an existing workflow
is never reused, and one that already exists counts as ours only when it carries this intent's
id in its memo.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone
from temporalio import workflow as temporal_workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import default as default_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from aura_site.db import db_sync_to_async
from aura_site.runs.models import StartIntent
from aura_site.temporal import TemporalUnavailable, get_client, run_sync

logger = logging.getLogger(__name__)

R = TypeVar("R")

MEMO_KEY = "aura_start_intent"
# The fast path has this long before a reconciler may try the same intent.
FAST_PATH_GRACE = timedelta(seconds=4)
START_RPC_TIMEOUT = timedelta(seconds=5)
# Refusals that another attempt cannot change.
_FINAL_STATUSES = {
    RPCStatusCode.INVALID_ARGUMENT,
    RPCStatusCode.ALREADY_EXISTS,
    RPCStatusCode.FAILED_PRECONDITION,
}

State = StartIntent.State


@dataclass(frozen=True)
class StartOutcome:
    """What one start attempt came to: `started`, `pending` (will be retried) or `failed`."""

    state: str
    run_id: str = ""
    error: str = ""
    # The started workflow, when this attempt started it.
    handle: WorkflowHandle | None = field(default=None, compare=False, repr=False)

    @property
    def started(self) -> bool:
        return self.state == State.STARTED

    @property
    def pending(self) -> bool:
        return self.state == State.PENDING

    @property
    def failed(self) -> bool:
        return self.state == State.FAILED


@dataclass(frozen=True)
class Started(Generic[R]):
    """A start request's outcome: the record, whether this call created it, how its start went.

    `start` is None when nothing was tried: a repeated request, or a record made to be
    started later.
    """

    record: R
    created: bool
    start: StartOutcome | None = None
    intent: StartIntent | None = None


@dataclass(frozen=True)
class SubjectHooks:
    """What a domain does when the start of one of its workflows succeeds or is given up."""

    on_failed: Callable[[str, str], None]
    on_started: Callable[[str, str], None] | None = None


_hooks: dict[str, SubjectHooks] = {}


def register(
    subject_kind: str,
    *,
    on_failed: Callable[[str, str], None],
    on_started: Callable[[str, str], None] | None = None,
) -> None:
    """Tell the outbox how to close a `subject_kind` record whose start failed for good.

    Both hooks get the subject id and the run id (started) or the error (failed).
    """
    _hooks[subject_kind] = SubjectHooks(on_failed=on_failed, on_started=on_started)


def workflow_name(workflow_class: type) -> str:
    """Return the name Temporal knows a workflow class by."""
    return temporal_workflow._Definition.must_from_class(workflow_class).name


def as_json(arg: Any) -> Any:
    """Return `arg` (a dataclass) as the JSON value Temporal's converter sends for it."""
    payload = default_converter().payload_converter.to_payloads([arg])[0]
    return json.loads(payload.data)


def enqueue(
    *,
    subject_kind: str,
    subject_id: str,
    workflow_id: str,
    workflow: type,
    arg: Any,
    task_queue: str,
) -> StartIntent:
    """Add the start of `workflow(arg)` to the current transaction."""
    now = timezone.now()
    return StartIntent.objects.create(
        subject_kind=subject_kind,
        subject_id=subject_id,
        workflow_id=workflow_id,
        workflow_type=workflow_name(workflow),
        task_queue=task_queue,
        arguments=as_json(arg),
        next_attempt_at=now + FAST_PATH_GRACE,
        give_up_at=now + timedelta(seconds=settings.AURA_START_GIVE_UP_SECONDS),
    )


def start_after_commit(intent: StartIntent) -> StartOutcome:
    """Start the intent's workflow now that its record is committed.

    Inside a transaction that is still open the start waits for its commit (the worker must
    find the record) and this answers `pending`.
    """
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: attempt_and_settle(intent), robust=True)
        return StartOutcome(State.PENDING)
    return attempt_and_settle(intent)


def attempt_and_settle(intent: StartIntent) -> StartOutcome:
    """Try the start once from sync code and record what came of it (and the attempt)."""
    try:
        outcome = run_sync(attempt(intent))
    except RuntimeError as exc:  # no usable event loop (e.g. interpreter shutting down)
        outcome = StartOutcome(State.PENDING, error=str(exc))
    return settle(intent, outcome, count=True)


async def start_async(
    intent: StartIntent, client: Client | None = None, *, result_type: type | None = None
) -> StartOutcome:
    """Try the start once from async code (on `client`) and record what came of it.

    `result_type` types the returned handle's result (else it decodes as plain JSON).
    """
    outcome = await attempt(intent, client, result_type=result_type)
    settled = await db_sync_to_async(settle)(intent, outcome, count=True)
    return replace(settled, handle=outcome.handle)


async def attempt(
    intent: StartIntent, client: Client | None = None, *, result_type: type | None = None
) -> StartOutcome:
    """Ask Temporal to start the intent's workflow; never raises for Temporal's answers."""
    try:
        client = client or await get_client()
        handle = await client.start_workflow(
            intent.workflow_type,
            intent.arguments,
            id=intent.workflow_id,
            task_queue=intent.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={MEMO_KEY: str(intent.pk)},
            rpc_timeout=START_RPC_TIMEOUT,
            result_type=result_type,
        )
    except WorkflowAlreadyStartedError:
        assert client is not None
        return await _existing(client, intent)
    except TemporalUnavailable as exc:
        return StartOutcome(State.PENDING, error=str(exc))
    except RPCError as exc:
        state = State.FAILED if exc.status in _FINAL_STATUSES else State.PENDING
        return StartOutcome(state, error=f"Temporal refused the start: {exc.message}")
    except RuntimeError as exc:  # the core SDK's connection errors
        return StartOutcome(State.PENDING, error=str(exc))
    return StartOutcome(State.STARTED, run_id=handle.result_run_id or "", handle=handle)


async def _existing(client: Client, intent: StartIntent) -> StartOutcome:
    """Tell our own earlier start (its answer lost) from another workflow with the same id."""
    try:
        description = await client.get_workflow_handle(intent.workflow_id).describe()
        owner = await description.memo_value(MEMO_KEY, default=None)
    except RPCError as exc:
        return StartOutcome(State.PENDING, error=f"Temporal refused the start: {exc.message}")
    if owner == str(intent.pk):
        return StartOutcome(State.STARTED, run_id=description.run_id)
    return StartOutcome(
        State.FAILED, error=f"another workflow with id {intent.workflow_id!r} already exists"
    )


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: doubling from 0.5 s, capped."""
    cap = settings.AURA_START_RETRY_MAX_SECONDS
    return timedelta(seconds=min(0.5 * 2 ** max(attempts - 1, 0), cap))


def settle(intent: StartIntent, outcome: StartOutcome, *, count: bool = False) -> StartOutcome:
    """Record an attempt's outcome on the intent; close the domain record if it failed for good.

    `count`: the attempt is not counted yet (a reconciler counts when it claims), so the same
    UPDATE counts it.
    """
    now = timezone.now()
    counted = {"attempts": F("attempts") + 1} if count else {}
    if count:
        intent.attempts += 1
    pending = StartIntent.objects.filter(pk=intent.pk, state=State.PENDING)
    if outcome.started:
        if pending.update(state=State.STARTED, run_id=outcome.run_id, started_at=now, **counted):
            intent.state, intent.run_id, intent.started_at = State.STARTED, outcome.run_id, now
            hooks = _hooks.get(intent.subject_kind)
            if hooks is not None and hooks.on_started is not None:
                hooks.on_started(intent.subject_id, outcome.run_id)
        return outcome
    if outcome.pending and now < intent.give_up_at:
        intent.last_error = outcome.error
        intent.next_attempt_at = now + retry_delay(intent.attempts)
        pending.update(last_error=outcome.error, next_attempt_at=intent.next_attempt_at, **counted)
        logger.warning(
            "Start of %s is pending (attempt %d): %s",
            intent.workflow_id,
            intent.attempts,
            outcome.error,
        )
        return outcome
    error = outcome.error if outcome.failed else _gave_up(intent, outcome.error)
    fail(intent, error, count=count)
    return StartOutcome(State.FAILED, error=error)


def _gave_up(intent: StartIntent, last_error: str) -> str:
    waited = settings.AURA_START_GIVE_UP_SECONDS
    return (
        f"could not start the workflow within {waited} s ({intent.attempts} attempts); "
        f"last error: {last_error}"
    )


def fail(intent: StartIntent, error: str, *, count: bool = False) -> None:
    """Give the intent up and let its domain close the record (once); `count` as in settle."""
    counted = {"attempts": F("attempts") + 1} if count else {}
    with transaction.atomic():
        if not StartIntent.objects.filter(pk=intent.pk, state=State.PENDING).update(
            state=State.FAILED, last_error=error, **counted
        ):
            return
        intent.state, intent.last_error = State.FAILED, error
        logger.error("Start of %s failed: %s", intent.workflow_id, error)
        hooks = _hooks.get(intent.subject_kind)
        if hooks is not None:
            hooks.on_failed(intent.subject_id, error)


def intent_for(workflow_id: str) -> StartIntent | None:
    return StartIntent.objects.filter(workflow_id=workflow_id).first()


def start_json(intent: StartIntent) -> dict[str, Any]:
    """Return the intent as `with_start` annotates a record with it, without a query.

    For a record this request has just created, whose intent is in memory.
    """
    return {
        "state": intent.state,
        "attempts": intent.attempts,
        "last_error": intent.last_error,
        "next_attempt_at": intent.next_attempt_at.isoformat(),
        "give_up_at": intent.give_up_at.isoformat(),
    }


def with_start(queryset: QuerySet, workflow_id_field: str = "workflow_id") -> QuerySet:
    """Annotate each record with its start intent as `start_json` (one query for a page).

    A correlated subquery: keep it out of DISTINCT and GROUP BY, so it runs only for the rows
    a page returns. `workflow_id` is unique, hence no ORDER BY (it would add a sort per row).
    """
    intent = StartIntent.objects.filter(workflow_id=OuterRef(workflow_id_field)).order_by()
    intent = intent.values(
        json=JSONObject(
            state="state",
            attempts="attempts",
            last_error="last_error",
            next_attempt_at="next_attempt_at",
            give_up_at="give_up_at",
        )
    )
    return queryset.annotate(start_json=Subquery(intent[:1], output_field=JSONField()))
