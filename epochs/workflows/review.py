"""`ReviewPhaseWorkflow`: one p4/p10 review round, a child of its epoch.

No Django here (the sandbox re-imports this module).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from epochs.inputs import ReviewInput, ReviewPhaseResult, ReviewVoteSignal
    from epochs.protocol import ReviewAxis, VoteType

from epochs.workflows.common import REVIEW_COMPLETE_SIGNAL


@workflow.defn
class ReviewPhaseWorkflow:
    """One p4/p10 review round (id `<epoch_id>-review-<phase>-<cycle>`).

    Signal `submit_vote(ReviewVoteSignal)` (last vote per axis wins). Completes once all three
    axes voted, with `success` = all ACCEPT, and reports to the parent as `review_complete`.
    The epoch cancels a round it leaves before every axis voted.
    """

    def __init__(self) -> None:
        self._votes: dict[ReviewAxis, VoteType] = {}

    @workflow.run
    async def run(self, input: ReviewInput) -> ReviewPhaseResult:
        await workflow.wait_condition(lambda: len(self._votes) == len(ReviewAxis))
        result = ReviewPhaseResult(
            phase_id=input.phase_id,
            success=all(v == VoteType.Accept for v in self._votes.values()),
            vote_result=dict(self._votes),
            cycle=input.cycle,
        )
        if input.parent_workflow_id:
            try:
                await workflow.get_external_workflow_handle(input.parent_workflow_id).signal(
                    REVIEW_COMPLETE_SIGNAL, result
                )
            except Exception as exc:  # the epoch may be gone; the result is still returned
                workflow.logger.warning(
                    "ReviewPhaseWorkflow(%s): parent signal delivery failed: %s",
                    input.phase_id,
                    exc,
                )
        return result

    @workflow.signal
    async def submit_vote(self, signal: ReviewVoteSignal) -> None:
        self._votes[ReviewAxis(signal.axis)] = VoteType(signal.vote)
