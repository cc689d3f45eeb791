"""Requests refused before any view runs: NUL characters in the URL, and over-long URLs."""

from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse

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
