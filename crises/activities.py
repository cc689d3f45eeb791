"""The five crisis activities: the only place `CrisisResponseWorkflow` touches the world;
and `record_scheduled_crisis`, the one of `ScheduledCrisisWorkflow`.

Sync functions: they use the ORM, so they run on the worker's thread pool, wrapped by the
DB-connection interceptor. Their names and log lines are part of the contract.
"""

from dataclasses import asdict

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from aura_site.temporal import identity
from crises import agents, records
from crises.exceptions import InvalidCrisisRequest
from crises.inputs import (
    CrisisRequest,
    FinalizeCrisisInput,
    InitializeCrisisInput,
    LogMissionPhaseInput,
    PerformAgentMissionInput,
    ScheduledCrisisInput,
)
from crises.models import CrisisPhase
from crises.services import schedules
from crises.validation import request_errors


def _actor() -> str:
    return f"worker:{identity()}"


def _run_id() -> str:
    return activity.info().workflow_run_id or ""


@activity.defn(name="validate_crisis_request")
def validate_crisis_request(request: CrisisRequest) -> bool:
    """Return whether the request meets the rules; a rejected crisis's record is failed."""
    activity.logger.info("Validating crisis request for target: %s", request.target_member)
    missions = [asdict(mission) for mission in request.missions or []]
    errors = request_errors(request.target_member, missions)
    if errors:
        activity.logger.warning("Crisis request validation failed: %s", errors)
        if request.crisis_id:
            records.reject(request.crisis_id, errors, actor=_actor(), run_id=_run_id())
        return False
    activity.logger.info("Crisis request validated: %d mission phases", len(missions))
    return True


@activity.defn(name="initialize_crisis_response")
def initialize_crisis_response(data: InitializeCrisisInput) -> bool:
    """Mark the crisis running (creating its record if nobody did)."""
    activity.logger.info(
        "Initializing crisis response: %s for target: %s", data.crisis_id, data.target
    )
    records.initialize(
        data.crisis_id,
        data.target,
        data.missions,
        initiated_by=data.initiated_by,
        actor=_actor(),
        run_id=_run_id(),
    )
    activity.logger.info("Crisis response initialized: %s", data.crisis_id)
    return True


@activity.defn(name="perform_agent_mission")
def perform_agent_mission(data: PerformAgentMissionInput) -> bool:
    """Deploy the phase's agent through the configured dispatcher."""
    info = activity.info()
    mission = data.mission
    try:
        records.start_phase(data.crisis_id, mission.phase_id, attempt=info.attempt)
    except CrisisPhase.DoesNotExist:
        raise ApplicationError(
            f"crisis {data.crisis_id} has no phase {mission.phase_id}",
            type="UnknownPhase",
            non_retryable=True,
        ) from None
    try:
        dispatcher = agents.get_dispatcher()
    except ValueError as exc:
        # The worker's log names the setting at fault; the phase record, which API users
        # read, does not (the workflow records the root cause, so none is chained).
        activity.logger.error("Agent dispatcher misconfigured: %s", exc)
        raise ApplicationError(
            "The worker's agent dispatcher is misconfigured.",
            type="Misconfigured",
            non_retryable=True,
        ) from None
    deployment = agents.Deployment(
        crisis_id=data.crisis_id,
        workflow_id=info.workflow_id or "",
        mission=mission,
        attempt=info.attempt,
    )
    try:
        dispatcher.dispatch(deployment, activity.heartbeat)
    except CancelledError:
        raise
    except Exception as exc:  # recorded for the operator, then re-raised for the retry policy
        message = exc.message if isinstance(exc, ApplicationError) else str(exc)
        records.note_attempt_failed(
            data.crisis_id, mission.phase_id, error=f"attempt {info.attempt}: {message}"
        )
        raise
    return True


@activity.defn(name="log_mission_phase")
def log_mission_phase(data: LogMissionPhaseInput) -> bool:
    """Record a phase's outcome (completed or failed) once."""
    activity.logger.info("Logging mission phase: %s - Status: %s", data.phase_id, data.status)
    try:
        records.log_phase(data, actor=_actor(), run_id=_run_id())
    except CrisisPhase.DoesNotExist:
        raise ApplicationError(
            f"crisis {data.crisis_id} has no phase {data.phase_id}",
            type="UnknownPhase",
            non_retryable=True,
        ) from None
    activity.logger.info("Mission phase logged: %s", data.phase_id)
    return True


@activity.defn(name="finalize_crisis_response")
def finalize_crisis_response(data: FinalizeCrisisInput) -> bool:
    """Record how the crisis ended; remaining phases become skipped."""
    activity.logger.info(
        "Finalizing crisis response: %s (Completed: %d, Failed: %d)",
        data.crisis_id,
        data.completed,
        data.failed,
    )
    if not records.finalize(data, actor=_actor(), run_id=_run_id()):
        activity.logger.warning("Crisis record not found: %s", data.crisis_id)
        return False
    activity.logger.info("Crisis response finalized: %s", data.crisis_id)
    return True


@activity.defn(name="record_scheduled_crisis")
def record_scheduled_crisis(request: ScheduledCrisisInput) -> str:
    """Record and start the crisis of one schedule firing, once; return its crisis id."""
    firing_id = activity.info().workflow_id or ""
    try:
        crisis_id = schedules.fire(request, firing_id=firing_id, actor=_actor())
    except InvalidCrisisRequest as exc:
        raise ApplicationError(str(exc), type="InvalidCrisisRequest", non_retryable=True) from None
    activity.logger.info("Schedule %s fired crisis %s", request.schedule, crisis_id or "(none)")
    return crisis_id


# The seed's contract: the crisis workflow's five activities (the worker logs their count).
ACTIVITIES = [
    validate_crisis_request,
    initialize_crisis_response,
    perform_agent_mission,
    log_mission_phase,
    finalize_crisis_response,
]
SCHEDULE_ACTIVITIES = [record_scheduled_crisis]
