"""The crisis operations every way in calls: REST, admin, `manage.py crisis`, the agency.

Start after commit: a trigger writes the crisis and its phases in one transaction, and the
workflow starts in `transaction.on_commit`, so a worker never sees a crisis it cannot read.
"""

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from aura_site.temporal import TemporalUnavailable, get_client, run_sync
from crises import records
from crises.exceptions import (
    CrisisNotActive,
    CrisisNotFound,
    IdempotencyKeyReused,
    InvalidCrisisRequest,
    WorkflowStartFailed,
)
from crises.inputs import CrisisRequest, MissionPhase
from crises.models import Crisis, CrisisPhase
from crises.validation import request_errors
from crises.workflows import CrisisResponseWorkflow, workflow_id_for

logger = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 60
# A record whose workflow Temporal has never heard of, older than this, never started.
START_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Trigger:
    """A trigger's outcome: the crisis, and whether this call created it."""

    crisis: Crisis
    created: bool


# --- ids and missions ---------------------------------------------------------------------


def id_safe(target: str) -> str:
    """Return `target` as it may appear in a crisis id (no '/', '..', spaces; ≤ 64 chars)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", target).strip("-_").lower()[:64].strip("-_")
    return safe or "target"


def base_crisis_id(target: str, now=None) -> str:
    """Return the seed's `crisis-<target>-<unix seconds>`."""
    return f"crisis-{id_safe(target)}-{int((now or timezone.now()).timestamp())}"


def cli_missions(target: str, actions: Sequence[str]) -> list[dict[str, Any]]:
    """Return the seed CLI's missions: phase-<i>, agent-<action>-<iii>, priority i (1-based)."""
    return [
        {
            "phase_id": f"phase-{i}",
            "agent_id": f"agent-{action}-{i:03d}",
            "action": action,
            "target": target,
            "priority": i,
        }
        for i, action in enumerate(actions, start=1)
    ]


def with_seed_defaults(target: str, missions: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Fill missing mission keys as the seed's agency does; unknown keys are dropped."""
    return [
        {
            "phase_id": mission.get("phase_id") or f"phase-{idx}",
            "agent_id": mission.get("agent_id") or "default-agent",
            "action": mission.get("action") or "deploy",
            "target": mission.get("target") or target,
            "priority": mission.get("priority", idx + 1),
        }
        for idx, mission in enumerate(missions)
    ]


def _fingerprint(target: str, missions: Sequence[Mapping[str, Any]], initiated_by: str) -> str:
    canonical = json.dumps([target, list(missions), initiated_by], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def crisis_request(crisis: Crisis) -> CrisisRequest:
    """Return the workflow input of a recorded crisis."""
    return CrisisRequest(
        target_member=crisis.target,
        missions=[
            MissionPhase(
                phase_id=phase.phase_id,
                agent_id=phase.agent_id,
                action=phase.action,
                target=phase.target,
                priority=phase.priority,
            )
            for phase in crisis.phases.all()
        ],
        crisis_id=crisis.crisis_id,
        initiated_by=crisis.initiated_by or None,
    )


def temporal_ui_url(crisis: Crisis) -> str:
    """Return the crisis's workflow in the Temporal Web UI."""
    return (
        f"{settings.TEMPORAL_UI_URL.rstrip('/')}/namespaces/"
        f"{quote(settings.TEMPORAL_NAMESPACE)}/workflows/{quote(crisis.workflow_id)}"
    )


# --- lookups ------------------------------------------------------------------------------


def get_crisis(reference: str) -> Crisis:
    """Return the crisis whose crisis id or workflow id is `reference`.

    Raises:
        CrisisNotFound: when there is none.
    """
    try:
        return Crisis.objects.by_reference(reference.strip())
    except Crisis.DoesNotExist:
        raise CrisisNotFound(reference) from None


# --- trigger ------------------------------------------------------------------------------


def _existing_for_key(user: Any, key: str, fingerprint: str) -> Crisis | None:
    crisis = Crisis.objects.filter(
        initiated_by_user=user if user is not None else None, idempotency_key=key
    ).first()
    if crisis is not None and crisis.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for a different request (crisis "
            f"{crisis.crisis_id})."
        )
    return crisis


def temporal_knows(client: Client | None = None) -> Callable[[str], bool]:
    """Return a check whether Temporal already has a workflow with a given id.

    Ids are allocated against the records, but Temporal keeps (closed) workflows the records
    may no longer have, e.g. after a database restore; an id it knows is not free.
    """

    async def describe(workflow_id: str) -> bool:
        try:
            await (client or await get_client()).get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    def knows(workflow_id: str) -> bool:
        try:
            return run_sync(describe(workflow_id))
        except (TemporalUnavailable, RPCError, RuntimeError):
            return False  # the start will fail and say so

    return knows


def _insert(
    base_id: str, fields: dict[str, Any], id_taken: Callable[[str], bool] | None
) -> Crisis:
    """Insert the crisis under the first free id: `base_id`, then `base_id-2`, `-3`, …"""
    taken = set(
        Crisis.objects.filter(crisis_id__startswith=base_id).values_list("crisis_id", flat=True)
    )
    for n in range(1, 10_000):
        crisis_id = base_id if n == 1 else f"{base_id}-{n}"
        if crisis_id in taken or (id_taken is not None and id_taken(workflow_id_for(crisis_id))):
            continue
        try:
            with transaction.atomic():  # a savepoint: a racing trigger may take the id first
                return Crisis.objects.create(
                    crisis_id=crisis_id, workflow_id=workflow_id_for(crisis_id), **fields
                )
        except IntegrityError:
            if (
                fields.get("idempotency_key")
                and Crisis.objects.filter(
                    initiated_by_user=fields.get("initiated_by_user"),
                    idempotency_key=fields["idempotency_key"],
                ).exists()
            ):
                raise
            taken.add(crisis_id)
    raise AssertionError(f"no free crisis id for {base_id}")


def create_crisis(
    *,
    target: str,
    missions: Sequence[Mapping[str, Any]],
    initiated_by: str = "",
    user: Any = None,
    actor: str = "",
    idempotency_key: str | None = None,
    on_commit: Callable[[Crisis], None] | None = None,
    id_taken: Callable[[str], bool] | None = None,
) -> Trigger:
    """Validate and record a crisis with its phases (status `initiated`); start nothing.

    Args:
        on_commit: called with the new crisis once the transaction commits.
        id_taken: tells whether a workflow id is taken outside the records
            (`temporal_knows()`); by default only the records count.

    Raises:
        InvalidCrisisRequest: when the request breaks the rules (nothing is stored).
        IdempotencyKeyReused: when the key was used before for a different request.
    """
    errors = request_errors(target, missions)
    if len(initiated_by or "") > 200:
        errors["initiated_by"] = ["Ensure this field has no more than 200 characters."]
    if errors:
        raise InvalidCrisisRequest(errors)
    missions = [dict(mission) for mission in missions]
    for mission in missions:
        mission.setdefault("priority", 1)
    fingerprint = _fingerprint(target, missions, initiated_by)
    user = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            if idempotency_key:
                existing = _existing_for_key(user, idempotency_key, fingerprint)
                if existing is not None:
                    return Trigger(existing, created=False)
            crisis = _insert(
                base_crisis_id(target),
                {
                    "target": target,
                    "initiated_by": initiated_by or "",
                    "initiated_by_user": user,
                    "idempotency_key": idempotency_key or None,
                    "request_fingerprint": fingerprint,
                },
                id_taken,
            )
            request_missions = [MissionPhase(**mission) for mission in missions]
            CrisisPhase.objects.bulk_create(records.phase_rows(crisis, request_missions))
            records.audit(
                crisis.crisis_id,
                "crisis_triggered",
                key="triggered",
                actor=actor,
                target=target,
                initiated_by=initiated_by or "",
                phases=len(missions),
            )
            if on_commit is not None:
                transaction.on_commit(lambda: on_commit(crisis))
    except IntegrityError:
        # Two requests with the same Idempotency-Key raced: the other one's crisis stands.
        existing = _existing_for_key(user, idempotency_key or "", fingerprint)
        if existing is None:
            raise
        return Trigger(existing, created=False)
    return Trigger(crisis, created=True)


async def start_workflow(
    crisis: Crisis,
    request: CrisisRequest,
    *,
    client: Client | None = None,
    task_queue: str | None = None,
) -> WorkflowHandle:
    """Start the crisis's workflow and return its handle; starting it again is a no-op.

    Raises:
        WorkflowStartFailed: when Temporal cannot be reached or refuses.
    """
    try:
        client = client or await get_client()
        return await client.start_workflow(
            CrisisResponseWorkflow.run,
            request,
            id=crisis.workflow_id,
            task_queue=task_queue or settings.CRISIS_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except (TemporalUnavailable, RPCError, RuntimeError) as exc:
        raise WorkflowStartFailed(
            f"Could not start crisis {crisis.crisis_id}: {exc}", crisis_id=crisis.crisis_id
        ) from exc


def _start_or_fail(crisis: Crisis) -> None:
    """Start the workflow of a committed crisis; if that fails, the record says so."""
    try:
        run_sync(start_workflow(crisis, crisis_request(crisis)))
    except WorkflowStartFailed as exc:
        records.fail_unfinished(crisis, str(exc), actor="")
        raise


def trigger_crisis(
    *,
    target: str,
    missions: Sequence[Mapping[str, Any]],
    initiated_by: str = "",
    user: Any = None,
    actor: str = "",
    idempotency_key: str | None = None,
) -> Trigger:
    """Record a crisis and start its workflow once the record is committed.

    A repeat with the same `idempotency_key` returns the first crisis and starts nothing.

    Raises:
        InvalidCrisisRequest: when the request breaks the rules (nothing stored or started).
        IdempotencyKeyReused: when the key was used before for a different request.
        WorkflowStartFailed: when Temporal refused; the crisis is recorded as failed.
    """
    return create_crisis(
        target=target,
        missions=missions,
        initiated_by=initiated_by,
        user=user,
        actor=actor,
        idempotency_key=idempotency_key,
        on_commit=_start_or_fail,
        id_taken=temporal_knows(),
    )


# --- cancel -------------------------------------------------------------------------------


async def _cancel_workflow(workflow_id: str, reason: str) -> bool:
    """Request cancellation; return False when Temporal does not know the workflow."""
    client = await get_client()
    try:
        await client.get_workflow_handle(workflow_id).cancel(reason=reason)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def cancel_crisis(crisis: Crisis, *, actor: str) -> Crisis:
    """Ask a running crisis to stop: the current mission stops, the rest is skipped.

    The workflow finalizes the record as `cancelled`; this returns before it has.

    Raises:
        CrisisNotActive: when the crisis has already ended.
        TemporalUnavailable: when Temporal cannot be reached.
    """
    with transaction.atomic():
        crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
        if not crisis.is_active:
            raise CrisisNotActive(
                f"Crisis {crisis.crisis_id} has already ended ({crisis.status})."
            )
        if crisis.cancel_requested_at is None:
            crisis.cancel_requested_by = actor
            crisis.cancel_requested_at = timezone.now()
            crisis.save(update_fields=["cancel_requested_by", "cancel_requested_at", "updated_at"])
            records.audit(
                crisis.crisis_id, "crisis_cancel_requested", key="cancel_requested", actor=actor
            )
    try:
        known = run_sync(_cancel_workflow(crisis.workflow_id, f"cancelled by {actor}"))
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal refused the cancel request: {exc}") from exc
    if not known:  # the workflow never started: nothing else will close the record
        crisis = records.fail_unfinished(crisis, "cancelled before it started", actor=actor)
    return crisis


# --- status and wait ----------------------------------------------------------------------


async def _execution_status(workflow_id: str) -> WorkflowExecutionStatus | None:
    client = await get_client()
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description.status


_CLOSED_WITHOUT_RECORD = {
    WorkflowExecutionStatus.TERMINATED: "workflow terminated",
    WorkflowExecutionStatus.TIMED_OUT: "workflow timed out",
    WorkflowExecutionStatus.FAILED: "workflow failed",
    WorkflowExecutionStatus.CANCELED: "workflow cancelled",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "workflow continued as new",
}


def refresh_crisis(crisis: Crisis) -> Crisis:
    """Return the crisis as recorded, closing it if its workflow ended without saying so.

    Temporal may be down: the record is then returned as it stands.
    """
    crisis.refresh_from_db()
    if not crisis.is_active:
        return crisis
    try:
        status = run_sync(_execution_status(crisis.workflow_id))
    except (TemporalUnavailable, RPCError) as exc:
        logger.warning("Cannot check crisis %s in Temporal: %s", crisis.crisis_id, exc)
        return crisis
    if status is None:
        if timezone.now() - crisis.created_at > START_GRACE:
            return records.fail_unfinished(crisis, "workflow never started", actor="")
        return crisis
    if status in _CLOSED_WITHOUT_RECORD:
        crisis.refresh_from_db()  # the workflow may have finalized since the first read
        if crisis.is_active:
            return records.fail_unfinished(crisis, _CLOSED_WITHOUT_RECORD[status], actor="")
    return crisis


async def _wait_closed(workflow_id: str, timeout: float) -> None:
    client = await get_client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        await asyncio.wait_for(handle.result(), timeout=timeout)
    except (TimeoutError, WorkflowFailureError):
        pass  # still running, or ended as cancelled/terminated: the record tells which
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


def wait_for_crisis(crisis: Crisis, *, timeout: float) -> tuple[Crisis, bool]:
    """Wait up to `timeout` seconds for the crisis to end; return it and whether it ended."""
    crisis.refresh_from_db()
    if crisis.is_active and timeout > 0:
        try:
            run_sync(_wait_closed(crisis.workflow_id, min(timeout, MAX_WAIT_SECONDS)))
        except (TemporalUnavailable, RPCError) as exc:
            logger.warning("Cannot wait for crisis %s: %s", crisis.crisis_id, exc)
    crisis = refresh_crisis(crisis)
    return crisis, not crisis.is_active


def summary(crisis: Crisis) -> dict[str, int]:
    """Return the seed's summary counts."""
    statuses = list(crisis.phases.values_list("status", flat=True))
    return {
        "completed_phases": statuses.count("completed"),
        "failed_phases": statuses.count("failed"),
        "total_phases": len(statuses),
    }


def _cancel_note(crisis: Crisis) -> str | None:
    if crisis.status != "cancelled":
        return None
    return (
        f"cancelled by {crisis.cancel_requested_by}" if crisis.cancel_requested_by else "cancelled"
    )


def as_result(crisis: Crisis) -> dict[str, Any]:
    """Return a finished crisis as the seed's result dict (`CrisisResult`'s five keys)."""
    phases = crisis.phases.all()
    failed = [phase.phase_id for phase in phases if phase.status == "failed"]
    return {
        "success": crisis.status == "completed",
        "crisis_id": crisis.crisis_id,
        "completed_phases": sum(phase.status == "completed" for phase in phases),
        "failed_phases": failed or None,
        "error": crisis.error or _cancel_note(crisis),
    }
