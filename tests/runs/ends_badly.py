"""A workflow that ends without writing any record (no Django here: the sandbox loads it)."""

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class EndsBadly:
    """Stands in for a domain workflow that ends without writing its record."""

    @workflow.run
    async def run(self, how: str) -> None:
        if how == "fail":
            raise ApplicationError("boom", non_retryable=True)
        await workflow.wait_condition(lambda: False)
