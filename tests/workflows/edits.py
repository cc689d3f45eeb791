"""Edited workflows registered under the real names: the changes the replay test must catch.

No Django here: the workflow sandbox re-imports this module.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crises.inputs import CrisisRequest, CrisisResult, LogMissionPhaseInput, MissionPhase
    from epochs.inputs import ReviewInput, ReviewPhaseResult

from crises.workflows import CrisisResponseWorkflow
from epochs.workflows import ReviewPhaseWorkflow

BRIEFING_PATCH = "brief-agents"


async def brief(mission: MissionPhase) -> None:
    """An activity the recorded code never called."""
    await workflow.execute_activity(
        "brief_agent", mission.phase_id, start_to_close_timeout=timedelta(seconds=10)
    )


@workflow.defn(name="CrisisResponseWorkflow")
class CrisisWithBriefing(CrisisResponseWorkflow):
    """Briefs each agent before its mission: one more activity per phase."""

    @workflow.run
    async def run(self, request: CrisisRequest) -> CrisisResult:
        return await super().run(request)

    async def _run_phase(self, crisis_id: str, mission: MissionPhase) -> None:
        await brief(mission)
        await super()._run_phase(crisis_id, mission)


@workflow.defn(name="CrisisResponseWorkflow")
class CrisisLoggingFirst(CrisisResponseWorkflow):
    """Logs a phase before performing it: the same activities in another order."""

    @workflow.run
    async def run(self, request: CrisisRequest) -> CrisisResult:
        return await super().run(request)

    async def _run_phase(self, crisis_id: str, mission: MissionPhase) -> None:
        await workflow.execute_activity(
            "log_mission_phase",
            LogMissionPhaseInput(crisis_id, mission.phase_id, "completed"),
            start_to_close_timeout=timedelta(seconds=10),
        )
        await workflow.execute_activity(
            "perform_agent_mission",
            mission,
            start_to_close_timeout=timedelta(minutes=5),
        )


@workflow.defn(name="CrisisResponseWorkflow")
class CrisisWithPatchedBriefing(CrisisResponseWorkflow):
    """`CrisisWithBriefing` done safely: runs started before the change skip the briefing."""

    @workflow.run
    async def run(self, request: CrisisRequest) -> CrisisResult:
        return await super().run(request)

    async def _run_phase(self, crisis_id: str, mission: MissionPhase) -> None:
        if workflow.patched(BRIEFING_PATCH):
            await brief(mission)
        await super()._run_phase(crisis_id, mission)


@workflow.defn(name="ReviewPhaseWorkflow")
class ReviewWithCooldown(ReviewPhaseWorkflow):
    """Waits a minute before collecting votes: a timer the recorded rounds never started."""

    @workflow.run
    async def run(self, input: ReviewInput) -> ReviewPhaseResult:
        await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)


@workflow.defn(name="ReviewPhaseWorkflow")
class ReviewWithPatchedCooldown(ReviewPhaseWorkflow):
    """`ReviewWithCooldown` behind `workflow.patched`."""

    @workflow.run
    async def run(self, input: ReviewInput) -> ReviewPhaseResult:
        if workflow.patched("review-cooldown"):
            await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)
