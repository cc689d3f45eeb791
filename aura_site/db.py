"""Database-connection hygiene for code that runs outside Django's request cycle."""

import functools
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

P = ParamSpec("P")
R = TypeVar("R")

_thread_connections = threading.local()


def _adopt_thread_connections() -> None:
    """Use this thread's own connections in the current context.

    Temporal (and asgiref) run sync code in a *copy* of the event loop's context, and Django
    keeps connections in context variables: without this, an activity would see the loop
    thread's connection objects (unusable here) and its own would vanish with the copy.
    """
    for alias in connections:
        connection = getattr(_thread_connections, alias, None)
        if connection is None:
            connection = connections.create_connection(alias)
            setattr(_thread_connections, alias, connection)
        connections[alias] = connection


def fresh_connections(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap `fn` in close_old_connections() calls, as Django does around each request.

    Workers never see Django's request signals, so without this a thread would keep a
    connection the server has dropped, or one older than CONN_MAX_AGE.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _adopt_thread_connections()
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return wrapper


def db_sync_to_async(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Return an async version of the ORM function `fn` that runs on a worker thread."""
    return sync_to_async(fresh_connections(fn), thread_sensitive=False)
