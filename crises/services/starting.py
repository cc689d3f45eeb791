"""Triggering a crisis: record, phases, audit event and start intent commit together.

The workflow starts right after the commit (the fast path); when Temporal cannot take it, the
crisis stays `initiated`, waiting to start, and a reconciler starts it later.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from aura_site.runs import outbox
from aura_site.runs.idempotency import create_once, fingerprint
from aura_site.runs.models import StartIntent
from crises import records
from crises.exceptions import InvalidCrisisRequest
from crises.inputs import CrisisRequest, MissionPhase
from crises.models import Crisis, CrisisPhase, CrisisSchedule
from crises.services.ids import base_crisis_id, reserved_crisis_id
from crises.validation import request_errors
from crises.workflows import CrisisResponseWorkflow, workflow_id_for

SUBJECT_KIND = "crisis"
# How often another process's trigger may take the chosen id first (each clash leaves one
# id fewer).
_ID_TRIES = 1000


Trigger = outbox.Started[Crisis]


def crisis_request(
    crisis: Crisis, missions: Sequence[MissionPhase] | None = None
) -> CrisisRequest:
    """Return the workflow input of a recorded crisis."""
    if missions is None:
        missions = [
            MissionPhase(
                phase_id=phase.phase_id,
                agent_id=phase.agent_id,
                action=phase.action,
                target=phase.target,
                priority=phase.priority,
            )
            for phase in crisis.phases.all()
        ]
    return CrisisRequest(
        target_member=crisis.target,
        missions=list(missions),
        crisis_id=crisis.crisis_id,
        initiated_by=crisis.initiated_by or None,
    )


def _hold_related(crisis: Crisis, **related: list) -> None:
    """Keep the related rows just written on the new record, as a prefetch would.

    Showing the crisis this call created (the API's 201) then reads nothing back.
    """
    cache = {}
    for name, rows in related.items():
        queryset = getattr(crisis, name).get_queryset()
        queryset._result_cache, queryset._prefetch_done = list(rows), True
        cache[name] = queryset
    crisis._prefetched_objects_cache = cache


def _validated(
    target: str, missions: Sequence[Mapping[str, Any]], initiated_by: str
) -> list[MissionPhase]:
    errors = request_errors(target, missions)
    if len(initiated_by or "") > 200:
        errors["initiated_by"] = ["Ensure this field has no more than 200 characters."]
    if errors:
        raise InvalidCrisisRequest(errors)
    return [MissionPhase(**{"priority": 1, **mission}) for mission in missions]


def record_crisis(
    *,
    target: str,
    missions: Sequence[Mapping[str, Any]],
    initiated_by: str = "",
    user: Any = None,
    actor: str = "",
    idempotency_key: str | None = None,
    task_queue: str | None = None,
    rerun_of: Crisis | None = None,
    reason: str = "",
    schedule: CrisisSchedule | None = None,
) -> Trigger:
    """Validate and record a crisis (status `initiated`) with its start intent; start nothing.

    Args:
        rerun_of: the crisis this one re-runs; both get an audit event with `reason`.
        schedule: the crisis schedule whose firing this is.

    Raises:
        InvalidCrisisRequest: the request breaks the rules (nothing is stored).
        IdempotencyKeyReused: the key was used before for a different request.
    """
    phases = _validated(target, missions, initiated_by)
    user = user if getattr(user, "is_authenticated", False) else None
    parts = [target, [vars(phase) for phase in phases], initiated_by or ""]
    if rerun_of is not None:  # a re-run's Idempotency-Key is bound to the crisis it re-runs
        parts += [rerun_of.crisis_id, reason]
    digest = fingerprint(*parts)
    made: dict[str, StartIntent] = {}

    def create(crisis_id: str) -> Crisis:
        crisis = Crisis.objects.create(
            crisis_id=crisis_id,
            workflow_id=workflow_id_for(crisis_id),
            target=target,
            initiated_by=initiated_by or "",
            initiated_by_user=user,
            idempotency_key=idempotency_key,
            request_fingerprint=digest,
            rerun_of=rerun_of,
            schedule=schedule,
        )
        rows = CrisisPhase.objects.bulk_create(records.phase_rows(crisis, phases))
        _hold_related(crisis, phases=rows, reruns=[])
        rerun = {"rerun_of": rerun_of.crisis_id, "reason": reason} if rerun_of else {}
        scheduled = {"schedule": schedule.name} if schedule is not None else {}
        # The start intent before the audit events: an audit insert locks the hash chain's head
        # until the commit, so it goes last.
        made["intent"] = outbox.enqueue(
            subject_kind=SUBJECT_KIND,
            subject_id=crisis_id,
            workflow_id=crisis.workflow_id,
            workflow=CrisisResponseWorkflow,
            arg=crisis_request(crisis, phases),
            task_queue=task_queue or settings.CRISIS_TASK_QUEUE,
        )
        records.audit(
            crisis_id,
            "crisis_triggered",
            key="triggered",
            actor=actor,
            target=target,
            initiated_by=initiated_by or "",
            phases=len(phases),
            **rerun,
            **scheduled,
        )
        if rerun_of is not None:
            records.audit(
                rerun_of.crisis_id,
                "crisis_rerun_requested",
                key=f"rerun:{crisis_id}",
                actor=actor,
                rerun_crisis_id=crisis_id,
                reason=reason,
            )
        return crisis

    base_id = base_crisis_id(target)
    for clashes in range(_ID_TRIES):
        try:
            with (
                reserved_crisis_id(base_id, spread=min(2**clashes, 64)) as crisis_id,
                transaction.atomic(),
            ):
                crisis, created = create_once(
                    Crisis,
                    user_field="initiated_by_user",
                    user=user,
                    key=idempotency_key,
                    digest=digest,
                    create=lambda crisis_id=crisis_id: create(crisis_id),
                )
        except IntegrityError:  # another process's trigger committed this id first: look again
            continue
        return Trigger(crisis, created, intent=made.get("intent"))
    raise AssertionError(f"no free crisis id for {base_id}")


def trigger_crisis(**request: Any) -> Trigger:
    """Record a crisis and start its workflow right after the commit.

    Takes `record_crisis`'s arguments. A repeat with the same `idempotency_key` returns the
    first crisis and starts nothing. A start Temporal cannot take now stays pending.
    """
    trigger = record_crisis(**request)
    if not trigger.created or trigger.intent is None:
        return trigger
    start = outbox.start_after_commit(trigger.intent)
    return Trigger(trigger.record, True, start, trigger.intent)


def close_unstarted(crisis_id: str, error: str) -> None:
    """Outbox hook: the crisis's workflow will never start, so the record says why."""
    crisis = Crisis.objects.filter(crisis_id=crisis_id).first()
    if crisis is not None:
        records.fail_unfinished(crisis, f"could not start: {error}", actor="")
