"""A workflow whose one activity takes a while: something in flight to drain. No Django."""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def nap(seconds: float) -> str:
    if seconds < 0:  # a nap that always fails: something to count as a failed activity
        raise ValueError("cannot sleep a negative time")
    await asyncio.sleep(seconds)
    return "rested"


@workflow.defn
class SleepyWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_activity(
            nap, seconds, start_to_close_timeout=timedelta(seconds=60)
        )

    @workflow.query
    def sandboxed(self) -> bool:
        """Whether the worker runs this workflow in the SDK's sandbox."""
        return workflow.unsafe.in_sandbox()
