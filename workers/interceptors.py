"""Worker interceptors: the log context and failure logging, and database-connection hygiene
around every activity."""

import dataclasses
import inspect
import logging
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from aura_site import logs
from aura_site.db import fresh_connections

logger = logging.getLogger(__name__)


class DatabaseConnectionInterceptor(Interceptor):
    """Call close_old_connections() before and after every activity.

    Sync activities (the ones that use the ORM) run on the worker's thread pool and Django's
    connections are per thread, so the calls must happen on that thread: the interceptor wraps
    the activity function itself. Async activities reach the ORM through
    aura_site.db.db_sync_to_async, which does the same on its own thread.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DatabaseConnectionActivityInbound(next)


class _DatabaseConnectionActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if not inspect.iscoroutinefunction(input.fn):
            input = dataclasses.replace(input, fn=fresh_connections(input.fn))
        return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    """Bind the activity's workflow, run, type, attempt and record id to its log records, and
    log its failure at ERROR with the cause.

    The SDK runs a sync activity on the thread pool in a copy of this context, so the fields
    reach the activity's own log lines too. A cancellation is not a failure; an expected one
    (a BENIGN application error) is logged at INFO.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _LogContextActivityInbound(next)


class _LogContextActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        fields = logs.workflow_fields(
            info.workflow_type or "", info.workflow_id or "", info.workflow_run_id or ""
        )
        with logs.bound(**fields, activity_type=info.activity_type, attempt=info.attempt):
            try:
                return await self.next.execute_activity(input)
            except CancelledError:
                raise
            except Exception as exc:
                benign = (
                    isinstance(exc, ApplicationError)
                    and exc.category == ApplicationErrorCategory.BENIGN
                )
                logger.log(
                    logging.INFO if benign else logging.ERROR,
                    "Activity %s failed (attempt %d): %s: %s",
                    info.activity_type,
                    info.attempt,
                    type(exc).__name__,
                    exc,
                    exc_info=True,
                )
                raise


def worker_interceptors() -> list[Interceptor]:
    """Return the interceptors of every worker, and of the replayer that checks its histories."""
    return [LogContextInterceptor(), DatabaseConnectionInterceptor()]
