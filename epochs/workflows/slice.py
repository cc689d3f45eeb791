"""`SliceWorkflow`: one p9 worker slice, a child of its epoch.

No Django here (the sandbox re-imports this module).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from epochs.inputs import SliceInput, SliceProgressSignal, SliceResult
    from epochs.protocol import (
        ReviewCycleRecord,
        ReviewCycleSignal,
        SliceCompleteSignal,
        SliceMode,
        SliceStartSignal,
    )

from epochs.workflows.common import SLICE_PROGRESS_SIGNAL

COMPLETION_GRACE = timedelta(seconds=1)


@workflow.defn
class SliceWorkflow:
    """One p9 worker slice, a child of its epoch (id `<epoch_id>-slice-<slice_id>`).

    Signals: `start_slice(SliceStartSignal)`, `complete_slice(SliceCompleteSignal)` (an agent's
    own report; it overrides the command's result), `review_cycle(ReviewCycleSignal)`.
    Queries: `review_cycle_count`, `review_cycles`. The result is reported to the parent as a
    `slice_progress` signal with stage `execute`.
    """

    def __init__(self) -> None:
        self._start: SliceStartSignal | None = None
        self._complete: SliceCompleteSignal | None = None
        self._cycles: list[ReviewCycleRecord] = []

    @workflow.run
    async def run(self, input: SliceInput) -> SliceResult:
        config = input.config or (self._start.config if self._start else None)
        mode = SliceMode(config.mode) if config else SliceMode.Mock
        timeout = config.timeout_seconds if config else 300
        result = SliceResult(slice_id=input.slice_id, success=True)
        if mode in (SliceMode.Tmux, SliceMode.Subprocess):
            assert config is not None
            result = await workflow.execute_activity(
                "execute_slice_command",
                args=[
                    config.command,
                    input.slice_id,
                    input.epoch_id,
                    None,
                    config.timeout_seconds,
                    config.heartbeat_interval,
                ],
                result_type=SliceResult,
                # The activity enforces the timeout itself (and kills the command); the margin
                # lets it report that instead of being cut off.
                start_to_close_timeout=timedelta(seconds=config.timeout_seconds + 30),
                heartbeat_timeout=timedelta(seconds=max(config.heartbeat_interval, 1) * 3),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        elif mode != SliceMode.Mock:
            result = SliceResult(input.slice_id, False, error=f"Unknown execution mode: {mode}")
        elif input.await_completion:
            try:
                await workflow.wait_condition(
                    lambda: self._complete is not None, timeout=timedelta(seconds=timeout)
                )
            except TimeoutError:
                result = SliceResult(
                    input.slice_id, False, error=f"No completion reported within {timeout}s"
                )
        if self._complete is None:
            # An agent's report sent right after the start still counts (a short grace).
            try:
                await workflow.wait_condition(
                    lambda: self._complete is not None, timeout=COMPLETION_GRACE
                )
            except TimeoutError:
                pass
        if self._complete is not None:
            done = self._complete
            result = SliceResult(
                input.slice_id, done.success, output=done.output, error=done.error or None
            )
        if input.parent_workflow_id:
            try:
                await workflow.get_external_workflow_handle(input.parent_workflow_id).signal(
                    SLICE_PROGRESS_SIGNAL,
                    SliceProgressSignal(
                        slice_id=input.slice_id,
                        leaf_task_id=input.slice_id,
                        stage_name="execute",
                        completed=result.success,
                        output=result.output,
                        error=result.error or "",
                    ),
                )
            except Exception as exc:  # best effort: the slice's own result still stands
                workflow.logger.warning(
                    "SliceWorkflow(%s): parent signal delivery failed (parent_id=%s): %s",
                    input.slice_id,
                    input.parent_workflow_id,
                    exc,
                )
        return result

    @workflow.signal
    def start_slice(self, signal: SliceStartSignal) -> None:
        self._start = signal

    @workflow.signal
    def complete_slice(self, signal: SliceCompleteSignal) -> None:
        self._complete = signal

    @workflow.signal
    def review_cycle(self, signal: ReviewCycleSignal) -> None:
        self._cycles.append(ReviewCycleRecord(signal.cycle_number, signal.reviewer_feedback))

    @workflow.query
    def review_cycle_count(self) -> int:
        return len(self._cycles)

    @workflow.query
    def review_cycles(self) -> list[ReviewCycleRecord]:
        return list(self._cycles)
