"""What the crisis activities write: idempotent updates of the crisis and phase rows.

Every function may run more than once for the same step (an activity retried after a crash):
rows are updated in place, never appended, and audit events carry deterministic idempotency
keys, so a retry leaves the same records as a single run.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from audit.services import record_event
from crises.inputs import FinalizeCrisisInput, LogMissionPhaseInput, MissionPhase
from crises.models import ACTIVE_STATUSES, Crisis, CrisisPhase, CrisisStatus, PhaseStatus
from crises.workflows import workflow_id_for

SUBJECT = "crisis"

# A phase's own steps, once per phase and attempt, in one statement each: the ORM's UPDATE
# through the crisis relation compiles a subquery on every call, which cost the worker more
# CPU than the rest of the activity (profiled: start_phase and log_phase were a fifth of
# runworker's Python time per crisis). Statuses are passed as plain strings.
_PHASE_OF_CRISIS = (
    f"FROM {Crisis._meta.db_table} AS c "
    "WHERE c.id = p.crisis_id AND c.crisis_id = %s AND p.phase_id = %s"
)
_START_PHASE = (
    f"UPDATE {CrisisPhase._meta.db_table} AS p SET status = %s, "
    "attempts = GREATEST(p.attempts, %s), started_at = COALESCE(p.started_at, %s), "
    f"updated_at = %s {_PHASE_OF_CRISIS}"
)
_LOG_PHASE = (
    f"UPDATE {CrisisPhase._meta.db_table} AS p SET status = %s, "
    "finished_at = COALESCE(p.finished_at, %s), updated_at = %s, "
    f"error = COALESCE(%s, p.error) {_PHASE_OF_CRISIS} "
    "RETURNING p.agent_id, p.attempts, p.error"
)
# Closing a crisis the same way: one UPDATE of its row (it takes the row lock the ORM took with
# a SELECT ... FOR UPDATE before), then one statement skips the phases left and lists them all.
_FINALIZE = (
    f"UPDATE {Crisis._meta.db_table} SET status = %s, error = %s, "
    "completed_at = COALESCE(completed_at, %s), updated_at = %s "
    "WHERE crisis_id = %s RETURNING id, cancel_requested_by"
)
# Every phase in order, and whether it is skipped now: the SELECT sees the phases as they were
# before the UPDATE in its WITH, so the phases it skipped come from its RETURNING.
_SKIP_REMAINING = (
    f"WITH skipped AS (UPDATE {CrisisPhase._meta.db_table} "
    "SET status = %s, finished_at = %s, updated_at = %s "
    "WHERE crisis_id = %s AND status IN (%s, %s) RETURNING id) "
    f"SELECT p.phase_id, p.status = %s OR s.id IS NOT NULL FROM {CrisisPhase._meta.db_table} p "
    "LEFT JOIN skipped s ON s.id = p.id WHERE p.crisis_id = %s ORDER BY p.position"
)


def audit(
    crisis_id: str, event_type: str, *, key: str, actor: str = "", run_id: str = "", **payload
):
    """Record one crisis event once: `key` makes a repeat a no-op."""
    workflow_id = workflow_id_for(crisis_id)
    return record_event(
        subject_kind=SUBJECT,
        subject_id=crisis_id,
        event_type=event_type,
        phase=payload.get("phase_id", ""),
        actor=actor,
        payload=payload,
        workflow_id=workflow_id,
        run_id=run_id,
        idempotency_key=f"{workflow_id}:{key}",
    )


def phase_rows(crisis: Crisis, missions: Sequence[MissionPhase]) -> list[CrisisPhase]:
    """Return unsaved phase rows in execution order (priority, stable)."""
    ordered = sorted(missions, key=lambda mission: mission.priority)
    return [
        CrisisPhase(
            crisis=crisis,
            position=position,
            phase_id=mission.phase_id,
            agent_id=mission.agent_id,
            action=mission.action,
            target=mission.target,
            priority=mission.priority,
        )
        for position, mission in enumerate(ordered)
    ]


def _skip_remaining(crisis_pk: uuid.UUID, now: datetime) -> list[tuple[str, bool]]:
    """Skip the phases not run yet; return every phase's id and whether it is skipped."""
    skipped = PhaseStatus.SKIPPED.value
    left = (PhaseStatus.PENDING.value, PhaseStatus.RUNNING.value)
    with connection.cursor() as cursor:
        cursor.execute(_SKIP_REMAINING, [skipped, now, now, crisis_pk, *left, skipped, crisis_pk])
        return cursor.fetchall()


@transaction.atomic
def reject(crisis_id: str, errors: dict[str, list[str]], *, actor: str, run_id: str = "") -> None:
    """Mark a crisis the workflow's validation rejected as failed (when it has a record)."""
    crisis = Crisis.objects.select_for_update().filter(crisis_id=crisis_id).first()
    if crisis is None or not crisis.is_active:
        return
    now = timezone.now()
    details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    crisis.status = CrisisStatus.FAILED
    crisis.error = f"Crisis request validation failed: {details}"
    crisis.completed_at = now
    crisis.save(update_fields=["status", "error", "completed_at", "updated_at"])
    _skip_remaining(crisis.pk, now)
    audit(crisis_id, "crisis_rejected", key="rejected", actor=actor, run_id=run_id, errors=errors)


def initialize(
    crisis_id: str,
    target: str,
    missions: Sequence[MissionPhase],
    *,
    initiated_by: str | None,
    actor: str,
    run_id: str = "",
) -> None:
    """Mark the crisis running, creating its record and phases if a starter did not."""
    # A starter records a crisis with all its phases in one transaction: one UPDATE will do.
    if Crisis.objects.filter(crisis_id=crisis_id, status=CrisisStatus.INITIATED).update(
        status=CrisisStatus.RUNNING, updated_at=timezone.now()
    ):
        return
    _create_running(
        crisis_id, target, missions, initiated_by=initiated_by, actor=actor, run_id=run_id
    )


@transaction.atomic
def _create_running(
    crisis_id: str,
    target: str,
    missions: Sequence[MissionPhase],
    *,
    initiated_by: str | None,
    actor: str,
    run_id: str,
) -> None:
    crisis, created = Crisis.objects.select_for_update().get_or_create(
        crisis_id=crisis_id,
        defaults={
            "target": target,
            "workflow_id": workflow_id_for(crisis_id),
            "initiated_by": initiated_by or "",
        },
    )
    existing = set(crisis.phases.values_list("phase_id", flat=True))
    missing = [row for row in phase_rows(crisis, missions) if row.phase_id not in existing]
    if missing:
        CrisisPhase.objects.bulk_create(missing, ignore_conflicts=True)
    if created:
        audit(
            crisis.crisis_id,
            "crisis_triggered",
            key="triggered",
            actor=actor,
            run_id=run_id,
            target=target,
            initiated_by=initiated_by or "",
            phases=len(missions),
        )
    if crisis.status == CrisisStatus.INITIATED:
        crisis.status = CrisisStatus.RUNNING
        crisis.save(update_fields=["status", "updated_at"])


def start_phase(crisis_id: str, phase_id: str, *, attempt: int) -> None:
    """Mark a phase running and count the attempt (a retried attempt counts once).

    Raises:
        CrisisPhase.DoesNotExist: when the crisis has no such phase.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _START_PHASE, [PhaseStatus.RUNNING.value, attempt, now, now, crisis_id, phase_id]
        )
        updated = cursor.rowcount
    if not updated:
        raise CrisisPhase.DoesNotExist(f"crisis {crisis_id} has no phase {phase_id}")


def note_attempt_failed(crisis_id: str, phase_id: str, *, error: str) -> None:
    """Keep the latest attempt's error on the phase while the workflow decides on a retry."""
    CrisisPhase.objects.filter(crisis__crisis_id=crisis_id, phase_id=phase_id).update(
        error=error, updated_at=timezone.now()
    )


def log_phase(data: LogMissionPhaseInput, *, actor: str, run_id: str = "") -> None:
    """Record a phase's outcome; a repeat changes nothing.

    Raises:
        CrisisPhase.DoesNotExist: when the crisis has no such phase.
    """
    status = PhaseStatus.COMPLETED if data.status == "completed" else PhaseStatus.FAILED
    now = timezone.now()
    # A completed phase keeps its earlier attempts' last error: it explains the retries.
    error = data.error if status == PhaseStatus.FAILED and data.error else None
    with connection.cursor() as cursor:
        cursor.execute(_LOG_PHASE, [status.value, now, now, error, data.crisis_id, data.phase_id])
        row = cursor.fetchone()
    if row is None:
        raise CrisisPhase.DoesNotExist(f"crisis {data.crisis_id} has no phase {data.phase_id}")
    agent_id, attempts, recorded_error = row
    payload = {"phase_id": data.phase_id, "agent_id": agent_id, "attempts": attempts}
    if status == PhaseStatus.FAILED:
        payload["error"] = recorded_error
    audit(
        data.crisis_id,
        f"phase_{status}",
        key=f"{data.phase_id}:{status}",
        actor=actor,
        run_id=run_id,
        **payload,
    )


def final_status(data: FinalizeCrisisInput) -> CrisisStatus:
    """Return the crisis status the workflow's counts mean."""
    if data.cancelled:
        return CrisisStatus.CANCELLED
    if data.error or (data.completed == 0 and data.failed > 0):
        return CrisisStatus.FAILED
    if data.failed:
        return CrisisStatus.PARTIAL_FAILURE
    return CrisisStatus.COMPLETED


@transaction.atomic
def finalize(data: FinalizeCrisisInput, *, actor: str, run_id: str = "") -> bool:
    """Record how a crisis ended; remaining phases become skipped. False: no such crisis."""
    now = timezone.now()
    status = final_status(data)
    error = data.error or ""
    with connection.cursor() as cursor:
        cursor.execute(_FINALIZE, [status.value, error, now, now, data.crisis_id])
        row = cursor.fetchone()
    if row is None:
        return False
    crisis_pk, cancel_requested_by = row
    phases = _skip_remaining(crisis_pk, now)
    if status == CrisisStatus.CANCELLED:
        audit(
            data.crisis_id,
            "crisis_cancelled",
            key="cancelled",
            actor=cancel_requested_by or actor,
            run_id=run_id,
            completed_phases=data.completed,
            failed_phases=data.failed,
            skipped_phases=[phase_id for phase_id, skipped in phases if skipped],
        )
    else:
        audit(
            data.crisis_id,
            "crisis_finalized",
            key="finalized",
            actor=actor,
            run_id=run_id,
            status=str(status),
            completed_phases=data.completed,
            failed_phases=data.failed,
            total_phases=len(phases),
            error=error,
        )
    return True


@transaction.atomic
def fail_unfinished(crisis: Crisis, error: str, *, actor: str) -> Crisis:
    """Close a crisis whose workflow ended (or never began) without finalizing it."""
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    if crisis.status not in ACTIVE_STATUSES:
        return crisis
    now = timezone.now()
    cancelled = crisis.cancel_requested_at is not None and "cancel" in error
    crisis.status = CrisisStatus.CANCELLED if cancelled else CrisisStatus.FAILED
    crisis.error = "" if cancelled else error
    crisis.completed_at = now
    crisis.save(update_fields=["status", "error", "completed_at", "updated_at"])
    _skip_remaining(crisis.pk, now)
    if cancelled:
        audit(
            crisis.crisis_id, "crisis_cancelled", key="cancelled", actor=crisis.cancel_requested_by
        )
    else:
        audit(
            crisis.crisis_id,
            "crisis_finalized",
            key="finalized",
            actor=actor,
            status="failed",
            error=error,
        )
    return crisis
