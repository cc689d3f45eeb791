"""`CrisisResponseWorkflow`: a crisis's mission phases, in priority order, with retries;
`ScheduledCrisisWorkflow`: one firing of a crisis schedule.

No Django here: the workflow sandbox re-imports this module. Activities are called by name
(their names are the contract), so this module does not import them either.
"""

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from crises.inputs import (
        VALIDATION_FAILED,
        CrisisProgress,
        CrisisRequest,
        CrisisResult,
        FinalizeCrisisInput,
        InitializeCrisisInput,
        LogMissionPhaseInput,
        PerformAgentMissionInput,
        ScheduledCrisisInput,
    )

WORKFLOW_ID_PREFIX = "crisis-workflow-"

# Agent missions: three attempts, backing off from 2 s to at most 30 s.
MISSION_RETRY = RetryPolicy(
    maximum_attempts=3,
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=30),
)
MISSION_TIMEOUT = timedelta(minutes=5)
# Activity cancellation only reaches an activity with a heartbeat response, and the SDK
# throttles heartbeats to 80% of this: it bounds how long a cancelled mission keeps running.
MISSION_HEARTBEAT_TIMEOUT = timedelta(seconds=5)


# Runs started before this patch schedule every activity on the task queue; later runs run
# the four bookkeeping steps as local activities (see CrisisResponseWorkflow._bookkeeping).
LOCAL_BOOKKEEPING_PATCH = "local-bookkeeping"


def workflow_id_for(crisis_id: str) -> str:
    """Return the workflow id of a crisis (`crisis-workflow-<crisis_id>`)."""
    return f"{WORKFLOW_ID_PREFIX}{crisis_id}"


def root_cause(error: BaseException) -> str:
    """Return the innermost cause's message: "Activity task failed" says nothing useful."""
    while error.__cause__ is not None or getattr(error, "cause", None) is not None:
        error = getattr(error, "cause", None) or error.__cause__  # type: ignore[assignment]
    if isinstance(error, FailureError):
        return error.message or type(error).__name__
    return str(error) or type(error).__name__


@workflow.defn
class CrisisResponseWorkflow:
    """Run a crisis: validate, initialize, each mission phase in priority order, finalize.

    A failed phase (after its retries) is logged and the next phase runs. The workflow returns
    a `CrisisResult` in every case except cancellation: a cancel request stops the current
    mission (the activity heartbeats), finalizes the record as cancelled (remaining phases
    skipped) and ends the execution as cancelled.

    Query `progress` → `CrisisProgress` (non-blocking status with per-phase counts).

    The bookkeeping steps (validate, initialize, log, finalize) are short idempotent database
    writes: they run as local activities, in the worker that runs the workflow task, with no
    task-queue round trip and a third of the history events. The agent mission stays a
    regular activity (heartbeats, cancellation, missions of minutes, any worker).
    """

    def __init__(self) -> None:
        self._progress = CrisisProgress(crisis_id="", state="validating")
        self._local_bookkeeping = False

    def _bookkeeping(
        self,
        activity: str,
        arg: Any,
        timeout: timedelta,
        retry_policy: RetryPolicy | None = None,
        result_type: type | None = None,
    ) -> Awaitable[Any]:
        """Run a bookkeeping activity: local on the patched path, regular on the old one
        (same name, input, timeout and retry policy either way)."""
        if self._local_bookkeeping:
            return workflow.execute_local_activity(
                activity,
                arg,
                start_to_close_timeout=timeout,
                retry_policy=retry_policy,
                result_type=result_type,
            )
        return workflow.execute_activity(
            activity,
            arg,
            start_to_close_timeout=timeout,
            retry_policy=retry_policy,
            result_type=result_type,
        )

    @workflow.run
    async def run(self, request: CrisisRequest) -> CrisisResult:
        workflow.logger.info(
            "Starting crisis response workflow for target: %s", request.target_member
        )
        # A start without an id gets one in the starters' format (whole seconds).
        crisis_id = request.crisis_id or f"crisis-{int(workflow.now().timestamp())}"
        progress = self._progress
        progress.crisis_id = crisis_id
        self._local_bookkeeping = workflow.patched(LOCAL_BOOKKEEPING_PATCH)
        try:
            valid = await self._bookkeeping(
                "validate_crisis_request",
                request,
                timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
                result_type=bool,
            )
            if not valid:
                progress.state = "done"
                return CrisisResult(success=False, crisis_id=crisis_id, error=VALIDATION_FAILED)

            await self._bookkeeping(
                "initialize_crisis_response",
                InitializeCrisisInput(
                    crisis_id=crisis_id,
                    target=request.target_member,
                    missions=request.missions,
                    initiated_by=request.initiated_by,
                ),
                timedelta(seconds=30),
            )
            missions = sorted(request.missions, key=lambda mission: mission.priority)
            progress.state, progress.total_phases = "running", len(missions)
            for mission in missions:
                progress.current_phase = mission.phase_id
                await self._run_phase(crisis_id, mission)
            progress.current_phase, progress.state = None, "finalizing"

            await self._finalize(crisis_id)
            workflow.logger.info(
                "Crisis response completed: %d/%d phases successful",
                progress.completed_phases,
                len(missions),
            )
            progress.state = "done"
            return CrisisResult(
                success=not progress.failed_phases,
                crisis_id=crisis_id,
                completed_phases=progress.completed_phases,
                failed_phases=list(progress.failed_phases) or None,
            )
        except (asyncio.CancelledError, ActivityError) as error:
            if not is_cancelled_exception(error):
                return await self._fail(crisis_id, error)
            progress.state = "cancelling"
            # The cancel request was delivered once; the cleanup activity runs normally.
            await self._finalize(crisis_id, cancelled=True)
            progress.state = "done"
            raise

    async def _run_phase(self, crisis_id: str, mission) -> None:
        progress = self._progress
        workflow.logger.info(
            "Executing mission phase: %s (Agent: %s)", mission.phase_id, mission.agent_id
        )
        try:
            await workflow.execute_activity(
                "perform_agent_mission",
                PerformAgentMissionInput(crisis_id=crisis_id, mission=mission),
                start_to_close_timeout=MISSION_TIMEOUT,
                heartbeat_timeout=MISSION_HEARTBEAT_TIMEOUT,
                retry_policy=MISSION_RETRY,
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            await self._bookkeeping(
                "log_mission_phase",
                LogMissionPhaseInput(crisis_id, mission.phase_id, "completed"),
                timedelta(seconds=10),
            )
            progress.completed_phases += 1
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            cause = root_cause(error)
            workflow.logger.error("Mission phase %s failed: %s", mission.phase_id, cause)
            progress.failed_phases.append(mission.phase_id)
            await self._bookkeeping(
                "log_mission_phase",
                LogMissionPhaseInput(crisis_id, mission.phase_id, "failed", error=cause),
                timedelta(seconds=10),
            )

    async def _finalize(
        self, crisis_id: str, *, cancelled: bool = False, error: str | None = None
    ) -> None:
        await self._bookkeeping(
            "finalize_crisis_response",
            FinalizeCrisisInput(
                crisis_id=crisis_id,
                completed=self._progress.completed_phases,
                failed=len(self._progress.failed_phases),
                cancelled=cancelled,
                error=error,
            ),
            timedelta(seconds=30),
        )

    async def _fail(self, crisis_id: str, error: BaseException) -> CrisisResult:
        """Record an unexpected failure (an activity out of retries) and return the result."""
        cause = root_cause(error)
        workflow.logger.error("Crisis response workflow failed: %s", cause)
        progress = self._progress
        try:
            await self._finalize(crisis_id, error=cause)
        except ActivityError as finalize_error:
            workflow.logger.error(
                "Could not record the failure of %s: %s", crisis_id, root_cause(finalize_error)
            )
        progress.state = "done"
        return CrisisResult(
            success=False,
            crisis_id=crisis_id,
            completed_phases=progress.completed_phases,
            failed_phases=list(progress.failed_phases) or None,
            error=cause,
        )

    @workflow.query
    def progress(self) -> CrisisProgress:
        return self._progress


@workflow.defn
class ScheduledCrisisWorkflow:
    """One firing of a crisis schedule: record the crisis and start it, as a trigger does.

    A Temporal Schedule starts workflows itself, but a crisis is recorded (with its audit
    event and start intent) before its workflow starts, and `CrisisResponseWorkflow` must not
    change. So a schedule's action starts this small workflow, whose one activity calls the
    same trigger service as REST and the admin. Temporal gives each firing its own workflow
    id (the action's id and the scheduled time), which the activity uses as the crisis's
    idempotency key: a retried activity finds the crisis it made and starts nothing twice.

    Returns the crisis id ("" when the schedule no longer exists in Aura).
    """

    @workflow.run
    async def run(self, request: ScheduledCrisisInput) -> str:
        return await workflow.execute_activity(
            "record_scheduled_crisis",
            request,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            result_type=str,
        )
