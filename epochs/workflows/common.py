"""What the epoch workflows share: timeouts, retry policies, child ids and signal names.

No Django here: the workflow sandbox re-imports these modules.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

# ApplicationError.type of a refused update; its details hold the violation messages.
REFUSED = "TransitionRefused"

# The records and audit events are local activities: they run in the worker that runs the
# workflow task, with no task-queue round trip per row (3x faster per request, measured by
# bench/epoch_lifecycle.py). Their retries and idempotency are those of any activity.
RECORD_TIMEOUT = timedelta(seconds=10)
REVIEW_RESULT_TIMEOUT = timedelta(seconds=10)
# Record activities write idempotently, so retrying them is always safe; a database outage
# only delays the epoch.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)

# Patch id (docs/upgrades.md): a move's or vote's row, constraint check and audit events are
# written by one `record_request` local activity; runs from before it recorded them with up to
# four (`record_transition`, `check_constraints`, `record_audit_event` twice) and replay so.
ONE_RECORD_PER_REQUEST = "one-record-activity-per-request"

# Patch id: a run continues as new only once no handler is running and no message is in flight,
# checked in one condition. Runs from before it waited for the handlers, then for the messages,
# and a `review_complete` that came in between was cut off with its audit event.
CONTINUE_WHEN_QUIET = "continue-as-new-when-quiet"

# The epoch's signals its children report to (by name: the children do not import it).
SLICE_PROGRESS_SIGNAL = "slice_progress"
REVIEW_COMPLETE_SIGNAL = "review_complete"


async def all_settled(*awaitables: Any) -> list[Any]:
    """Await every awaitable, then raise the first error: none is left running when one fails
    (a workflow that fails with local activities still in flight stalls its task)."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def consume(task: asyncio.Future) -> None:
    """Retrieve a finished child's outcome so it is not logged as never retrieved."""
    if not task.cancelled():
        task.exception()


def review_workflow_id(epoch_id: str, phase: str, cycle: int) -> str:
    """Return the id of a review child (`<epoch_id>-review-<phase>-<cycle>`)."""
    return f"{epoch_id}-review-{phase}-{cycle}"


def slice_workflow_id(epoch_id: str, slice_id: str) -> str:
    """Return the id of a slice child (`<epoch_id>-slice-<slice_id>`)."""
    return f"{epoch_id}-slice-{slice_id}"


def review_epoch_id(workflow_id: str) -> str:
    """Return the epoch id of a review child's workflow id (the inverse of review_workflow_id)."""
    return workflow_id.rsplit("-review-", 1)[0]


def slice_epoch_id(workflow_id: str) -> str:
    """Return the epoch id of a slice child's workflow id (the inverse of slice_workflow_id)."""
    return workflow_id.split("-slice-", 1)[0]
