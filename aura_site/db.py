"""Database-connection hygiene for code that runs outside Django's request cycle."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def fresh_connections(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap `fn` in close_old_connections() calls, as Django does around each request.

    Workers never see Django's request signals, so without this a thread would keep a
    connection the server has dropped, or one older than CONN_MAX_AGE.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return wrapper


def db_sync_to_async(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Return an async version of the ORM function `fn` that runs on a worker thread."""
    return sync_to_async(fresh_connections(fn), thread_sensitive=False)
