"""Worker interceptors: database-connection hygiene around every activity."""

import dataclasses
import inspect
from typing import Any

from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from aura_site.db import fresh_connections


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


def worker_interceptors() -> list[Interceptor]:
    """Return the interceptors of every worker, and of the replayer that checks its histories."""
    return [DatabaseConnectionInterceptor()]
