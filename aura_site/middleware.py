"""Middleware of our own: request ids, API request metrics, refusing bad request lines, and
serving static files under ASGI.

Each works sync and async: under ASGI a request then passes through without a thread of its
own, which is what lets a long-poll await Temporal on the event loop (gunicorn_conf.py).
"""

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import IO, Any
from urllib.parse import unquote

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from aura_site import logs, metrics
from aura_site.api.problems import MalformedRequest, URITooLong
from aura_site.api.views import is_api, refusal_response

access_logger = logging.getLogger("aura.access")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_label(request: HttpRequest) -> str:
    """Return the URL pattern that served the request, e.g. `/api/v1/crises/{pk}/`.

    Routers write their patterns as regular expressions: named groups become `{name}`.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + _GROUP.sub(r"{\1}", match.route).replace("^", "").replace("$", "")


class SyncAndAsync:
    """A middleware that runs in the mode of the handler below it, so an async request never
    passes through a thread of its own on its account (Django's hybrid middleware)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)


class RequestMetricsMiddleware(SyncAndAsync):
    """Count API requests and time them, labelled by route pattern (never the raw path, whose
    ids would make a series per record), method and status."""

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if not is_api(request):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self.observe(request, response, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return await self.get_response(request)
        started = time.perf_counter()
        response = await self.get_response(request)
        self.observe(request, response, started)
        return response

    @staticmethod
    def observe(request: HttpRequest, response: HttpResponse, started: float) -> None:
        route = route_label(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.API_REQUESTS.labels(route, method, str(response.status_code)).inc()
        metrics.API_REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)


CHUNK_SIZE = 64 * 1024


class RequestLineMiddleware(SyncAndAsync):
    """Refuse URLs that no view can serve safely.

    PostgreSQL text cannot hold NUL: a NUL in a path id or a filter value would otherwise
    surface as a database error (a 500, or a false "database unavailable"). The length limit
    lets the app, not the HTTP server, answer over-long URLs (the server's own limit is set
    above it), so the API answers them as problem details.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.refusal(request)
        return refusal if refusal is not None else await self.get_response(request)

    @staticmethod
    def refusal(request: HttpRequest) -> HttpResponse | None:
        """Return the answer to a URL no view may see, None for a good one."""
        limit = settings.AURA_MAX_URL_LENGTH
        if len(request.get_full_path()) > limit:
            return refusal_response(request, URITooLong(f"The URL is longer than {limit} bytes."))
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            return refusal_response(request, MalformedRequest("The URL contains a NUL character."))
        return None


async def _chunks(file: IO[bytes] | None) -> AsyncIterator[bytes]:
    """Yield a file's bytes (none for HEAD or 304), read in a thread, not on the event loop."""
    if file is None:
        return
    try:
        while chunk := await sync_to_async(file.read, thread_sensitive=False)(CHUNK_SIZE):
            yield chunk
    finally:
        file.close()


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """whitenoise's middleware, able to run async.

    whitenoise's own is sync only: under ASGI Django would then run every request below it
    (long-polls included) through a thread, and stream files from a sync iterator (with a
    warning). Lookups and headers stay whitenoise's; only the I/O moves off the loop.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if self.autorefresh:  # development only: looks at the disk on every request
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        response = await sync_to_async(self.serve)(static_file, request)
        response.streaming_content = _chunks(response.file_to_stream)
        return response


REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it is short and cannot forge a log line or a header.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(request: HttpRequest) -> str:
    """Return the client's `X-Request-ID` when it is safe, else a new random id."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware(SyncAndAsync):
    """Give every request an id, in the response's `X-Request-ID` and on every log record, and
    write one access line per request (logger `aura.access`).

    The id and the request (for its user, once authenticated) are bound in a context variable,
    so they reach logs from sync views (WSGI) and async views (ASGI) alike. The id is also kept
    on the request, for the records Django logs about it after the middleware returned. The
    access line is the app's, not the server's: it carries the id and the user under any
    server (gunicorn writes none, see gunicorn_conf.py).
    """

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = request_id = request_id_of(request)
        started = time.perf_counter()
        with logs.bound(request_id=request_id, request=request):
            response = self.get_response(request)
            log_access(request, response, started)
        response[REQUEST_ID_HEADER] = request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id = request_id_of(request)
        started = time.perf_counter()
        with logs.bound(request_id=request_id, request=request):
            response = await self.get_response(request)
            log_access(request, response, started)
        response[REQUEST_ID_HEADER] = request_id
        return response


def log_access(request: HttpRequest, response: HttpResponse, started: float) -> None:
    """Write the request's access line: what was asked, the answer, and how long it took."""
    access_logger.info(
        '"%s %s" %s',
        request.method,
        request.get_full_path(),
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "remote_addr": request.META.get("REMOTE_ADDR", ""),
            "user_agent": request.headers.get("User-Agent", ""),
        },
    )
