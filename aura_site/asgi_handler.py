"""Django's ASGI handler, with one thread hop per request to a sync view instead of ~17.

Under ASGI Django runs the middleware chain in async mode; each of Django's own middleware
(security, CSP, sessions, common, CSRF, auth, messages, clickjacking) then runs its
`process_request`/`process_response`/`process_view` through `sync_to_async`, one thread hop
each, in a thread started for the request (asgiref's ThreadSensitiveContext, joined by one more
thread at its end); the `request_started` and `request_finished` signals take a hop each too.
Profiled under the crisis benchmarks these hops and threads cost more web-server CPU than any
one query. A request whose view is sync (every view but the long-polls) is served instead in
one hop to a thread of a fixed pool: `request_started`, the same middleware in sync mode and the
view, then `request_finished`, as under WSGI. A request to an async view, or to no view (static
files, 404s), keeps Django's async path, so a long-poll still awaits Temporal on the event loop
without a thread.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import Resolver404, get_resolver, set_script_prefix

# Sync requests served at once per process; more wait for a thread. A sync request holds a
# database connection for most of its life, so more threads than the pool has connections
# would only wait for one.
DEFAULT_REQUEST_THREADS = 20


class _SyncChain(BaseHandler):
    """The same middleware, loaded in sync mode."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)


class AuraASGIHandler(ASGIHandler):
    """An ASGIHandler serving requests to sync views in one hop through a sync middleware
    chain."""

    def __init__(self) -> None:
        super().__init__()
        self._sync = _SyncChain()
        threads = settings.DATABASE_POOL_SIZE or DEFAULT_REQUEST_THREADS
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="aura-request")
        self._respond_in_thread = sync_to_async(
            self._respond, thread_sensitive=False, executor=self._threads
        )

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "http" and _has_sync_view(_path_info(scope)):
            await self._handle_sync(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _handle_sync(self, scope: dict[str, Any], receive, send) -> None:
        """Django's `handle`, with everything between reading the body and sending the answer
        in one hop.

        A client that disconnects meanwhile does not stop a sync view (its thread runs on) in
        Django's handler either; the answer then goes nowhere.
        """
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await self._respond_in_thread(scope, body_file)
            await self.send_response(response, send)
            if response.streaming:  # ended once its content is sent, as Django does
                await sync_to_async(
                    response.close, thread_sensitive=False, executor=self._threads
                )()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file) -> HttpResponseBase:
        """Return the answer, the request finished unless the answer streams."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self._sync.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()  # its content is all in memory: request_finished frees the rest
        return response


def _path_info(scope: dict[str, Any]) -> str:
    """Return the request's path below the script prefix, as ASGIRequest reads it."""
    script_name = get_script_prefix(scope)
    return scope["path"].removeprefix(script_name) if script_name else scope["path"]


def _has_sync_view(path_info: str) -> bool:
    """Return whether the root URLconf sends `path_info` to a sync view.

    No middleware of ours sets `request.urlconf`, so the root URLconf is the one Django will
    resolve with.
    """
    try:
        match = get_resolver(settings.ROOT_URLCONF).resolve(path_info)
    except Resolver404:
        return False
    return not iscoroutinefunction(match.func)
