"""The replaced system's crisis workflow, frozen for bench/crisis_e2e.py's second baseline.

A copy of the origin's `CrisisResponseWorkflow` as ../shared/spec/liara-crisis.md §3 describes
it (the Liara quick reference's five activities): all five are regular activities,
with the origin's timeouts and retry policies, and no query. Its activities do nothing (the
origin's records are JSON files; the baseline records nowhere), and its clients start it and
await the result, as `LiaraTemporalAgency` does. Frozen on purpose: it must not follow our
workflow's changes, it is what ours is measured against.

Django-free: the workflow sandbox re-imports this module.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@dataclass
class MissionPhase:
    phase_id: str
    agent_id: str
    action: str
    target: str
    priority: int = 1


@dataclass
class CrisisRequest:
    target_member: str
    missions: list[MissionPhase]
    crisis_id: str | None = None
    initiated_by: str | None = None


@dataclass
class CrisisResult:
    success: bool
    crisis_id: str | None = None
    completed_phases: int = 0
    failed_phases: list[str] | None = None
    error: str | None = None


@workflow.defn(name="CrisisResponseWorkflow")
class ReplacedCrisisWorkflow:
    """The origin's workflow: validate, initialize, each phase (perform + log), finalize."""

    @workflow.run
    async def run(self, request: CrisisRequest) -> CrisisResult:
        workflow.logger.info(
            "Starting crisis response workflow for target: %s", request.target_member
        )
        crisis_id = request.crisis_id or f"crisis-{workflow.now().timestamp()}"
        completed_phases = 0
        failed_phases: list[str] = []
        try:
            valid = await workflow.execute_activity(
                "validate_crisis_request",
                request,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            if not valid:
                return CrisisResult(
                    success=False, crisis_id=crisis_id, error="Crisis request validation failed"
                )
            await workflow.execute_activity(
                "initialize_crisis_response",
                {"crisis_id": crisis_id, "target": request.target_member},
                start_to_close_timeout=timedelta(seconds=30),
            )
            for mission in sorted(request.missions, key=lambda m: m.priority):
                workflow.logger.info(
                    "Executing mission phase: %s (Agent: %s)", mission.phase_id, mission.agent_id
                )
                try:
                    await workflow.execute_activity(
                        "perform_agent_mission",
                        mission,
                        start_to_close_timeout=timedelta(minutes=5),
                        retry_policy=RetryPolicy(
                            maximum_attempts=3,
                            initial_interval=timedelta(seconds=2),
                            maximum_interval=timedelta(seconds=30),
                        ),
                    )
                    await workflow.execute_activity(
                        "log_mission_phase",
                        {
                            "crisis_id": crisis_id,
                            "phase_id": mission.phase_id,
                            "status": "completed",
                        },
                        start_to_close_timeout=timedelta(seconds=10),
                    )
                    completed_phases += 1
                except Exception as e:
                    workflow.logger.error("Mission phase %s failed: %s", mission.phase_id, e)
                    failed_phases.append(mission.phase_id)
                    await workflow.execute_activity(
                        "log_mission_phase",
                        {
                            "crisis_id": crisis_id,
                            "phase_id": mission.phase_id,
                            "status": "failed",
                            "error": str(e),
                        },
                        start_to_close_timeout=timedelta(seconds=10),
                    )
            await workflow.execute_activity(
                "finalize_crisis_response",
                {
                    "crisis_id": crisis_id,
                    "completed": completed_phases,
                    "failed": len(failed_phases),
                },
                start_to_close_timeout=timedelta(seconds=30),
            )
            workflow.logger.info(
                "Crisis response completed: %d/%d phases successful",
                completed_phases,
                len(request.missions),
            )
            return CrisisResult(
                success=not failed_phases,
                crisis_id=crisis_id,
                completed_phases=completed_phases,
                failed_phases=failed_phases or None,
            )
        except Exception as e:
            workflow.logger.error("Crisis response workflow failed: %s", e)
            return CrisisResult(
                success=False,
                crisis_id=crisis_id,
                completed_phases=completed_phases,
                failed_phases=failed_phases,
                error=str(e),
            )


# No-op activities under the origin's names: the baseline records nowhere.


@activity.defn(name="validate_crisis_request")
async def validate_crisis_request(request: dict) -> bool:
    return len(request["target_member"]) >= 3 and bool(request["missions"])


@activity.defn(name="initialize_crisis_response")
async def initialize_crisis_response(data: dict) -> bool:
    return True


@activity.defn(name="perform_agent_mission")
async def perform_agent_mission(mission: dict) -> bool:
    return True


@activity.defn(name="log_mission_phase")
async def log_mission_phase(data: dict) -> bool:
    return True


@activity.defn(name="finalize_crisis_response")
async def finalize_crisis_response(data: dict) -> bool:
    return True


ACTIVITIES = [
    validate_crisis_request,
    initialize_crisis_response,
    perform_agent_mission,
    log_mission_phase,
    finalize_crisis_response,
]
