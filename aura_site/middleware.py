"""Request middleware: API request metrics, and requests refused before any view runs (NUL
characters in the URL, over-long URLs)."""

import re
import time
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from aura_site import metrics
from aura_site.api.problems import MalformedRequest, URITooLong
from aura_site.api.views import is_api, refusal_response

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


class RequestMetricsMiddleware:
    """Count API requests and time them, labelled by route pattern (never the raw path, whose
    ids would make a series per record), method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_label(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.API_REQUESTS.labels(route, method, str(response.status_code)).inc()
        metrics.API_REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
        return response


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
