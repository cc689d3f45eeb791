"""Operator actions on a crisis beyond cancel: re-run it, terminate a stuck one."""

from typing import Any

from temporalio.service import RPCError

from aura_site.runs import executions, outbox
from aura_site.temporal import TemporalUnavailable, run_sync
from crises import records
from crises.exceptions import CrisisNotActive
from crises.models import Crisis
from crises.services.starting import Trigger, trigger_crisis


def rerun_crisis(
    crisis: Crisis,
    *,
    user: Any = None,
    actor: str = "",
    reason: str = "",
    idempotency_key: str | None = None,
) -> Trigger:
    """Trigger a new crisis with the same target and missions, linked to `crisis`.

    Any crisis can be re-run, ended or not. The new one starts like any trigger (201/202/200),
    and the original's audit trail names it.

    Raises:
        IdempotencyKeyReused: the key was used before for a different request.
    """
    missions = [
        {
            "phase_id": phase.phase_id,
            "agent_id": phase.agent_id,
            "action": phase.action,
            "target": phase.target,
            "priority": phase.priority,
        }
        for phase in crisis.phases.order_by("position")
    ]
    username = user.get_username() if getattr(user, "is_authenticated", False) else ""
    return trigger_crisis(
        target=crisis.target,
        missions=missions,
        initiated_by=username or crisis.initiated_by,
        user=user,
        actor=actor,
        idempotency_key=idempotency_key,
        rerun_of=crisis,
        reason=reason,
    )


def terminate_crisis(crisis: Crisis, *, actor: str, reason: str) -> Crisis:
    """Terminate the crisis's workflow at once (no cleanup runs) and close the record as failed.

    For a run that cancel cannot stop: a mission that ignores cancellation, a workflow stuck
    retrying. The record's error says who terminated it and why.

    Raises:
        DomainError: no reason was given.
        CrisisNotActive: the crisis has already ended.
        TemporalUnavailable: Temporal cannot be reached (nothing changed).
    """
    reason = executions.termination_reason(reason)
    crisis.refresh_from_db()
    if not crisis.is_active:
        raise CrisisNotActive(
            f"Crisis {crisis.crisis_id} has already ended ({crisis.get_status_display()})."
        )
    error = executions.operator_note("terminated", actor=actor, reason=reason)
    intent = outbox.intent_for(crisis.workflow_id)
    if intent is not None and intent.is_pending:
        outbox.fail(intent, error)  # never started: nothing to terminate in Temporal
        found = False
    else:
        try:
            found = run_sync(executions.terminate_execution(crisis.workflow_id, error))
        except RPCError as exc:
            raise TemporalUnavailable(f"Temporal refused the terminate request: {exc}") from exc
    records.audit(
        crisis.crisis_id,
        "crisis_terminated",
        key="terminated",
        actor=actor,
        reason=reason,
        workflow_found=found,
    )
    return records.fail_unfinished(crisis, error, actor=actor)
