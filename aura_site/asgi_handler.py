"""Django's ASGI handler, with one thread hop per request to a sync view instead of ~15.

Under ASGI Django runs the middleware chain in async mode; each of Django's own middleware
(security, CSP, sessions, common, CSRF, auth, messages, clickjacking) then runs its
`process_request`/`process_response`/`process_view` through `sync_to_async`, one thread hop
each (asgiref's per-request thread, a new thread per request). Profiled under the crisis
benchmark these hops and the thread handoffs cost more web-server CPU than any one query. A
request whose view is sync (every view but the long-polls) runs the same middleware in sync
mode instead, all of it and the view in one hop to that same thread, as under WSGI; a request
to an async view, or to no view (static files, 404s), keeps the async chain, so a long-poll
still awaits Temporal on the event loop without a thread.
"""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, get_resolver


class _SyncChain(BaseHandler):
    """The same middleware, loaded in sync mode."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)


class AuraASGIHandler(ASGIHandler):
    """An ASGIHandler sending requests to sync views through a sync middleware chain."""

    def __init__(self) -> None:
        super().__init__()
        self._sync = _SyncChain()

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if _has_sync_view(request):
            return await sync_to_async(self._sync.get_response, thread_sensitive=True)(request)
        return await super().get_response_async(request)


def _has_sync_view(request: HttpRequest) -> bool:
    """Return whether the root URLconf sends the request's path to a sync view.

    No middleware of ours sets `request.urlconf`, so the root URLconf is the one Django will
    resolve with.
    """
    try:
        match = get_resolver(settings.ROOT_URLCONF).resolve(request.path_info)
    except Resolver404:
        return False
    return not iscoroutinefunction(match.func)
