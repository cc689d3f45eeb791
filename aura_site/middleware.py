"""Request middleware: the request id, and URLs refused before any view runs."""

import re
import uuid
from collections.abc import Callable
from urllib.parse import unquote

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from aura_site import logs
from aura_site.api.problems import MalformedRequest, URITooLong
from aura_site.api.views import refusal_response


class RequestLineMiddleware:
    """Refuse URLs that no view can serve safely.

    PostgreSQL text cannot hold NUL: a NUL in a path id or a filter value would otherwise
    surface as a database error (a 500, or a false "database unavailable"). The length limit
    lets the app, not the HTTP server, answer over-long URLs (the server's own limit is set
    above it), so the API answers them as problem details.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.AURA_MAX_URL_LENGTH
        if len(request.get_full_path()) > limit:
            return refusal_response(request, URITooLong(f"The URL is longer than {limit} bytes."))
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            return refusal_response(request, MalformedRequest("The URL contains a NUL character."))
        return self.get_response(request)


REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it is short and cannot forge a log line or a header.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(request: HttpRequest) -> str:
    """Return the client's `X-Request-ID` when it is safe, else a new random id."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Give every request an id: in the response's `X-Request-ID` and on every log record.

    The id and the request (for its user, once authenticated) are bound in a context variable,
    so they reach logs from sync views (WSGI) and async views (ASGI) alike. The id is also kept
    on the request, for the records Django logs about it after the middleware returned.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = request_id = request_id_of(request)
        with logs.bound(request_id=request_id, request=request):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id = request_id_of(request)
        with logs.bound(request_id=request_id, request=request):
            response = await self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response
