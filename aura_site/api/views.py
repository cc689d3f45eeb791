"""Problem-details answers for requests no API view handled, or that Django refused."""

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.exceptions import APIException

from aura_site.api.problems import (
    PROBLEM_CONTENT_TYPE,
    MalformedRequest,
    problem_body,
    request_refusal,
)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/codec/"))


def _api_problem(status: int, title: str, detail: str, code: str) -> JsonResponse:
    body = problem_body(status, title, detail, code=code)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def refusal_response(request: HttpRequest, error: APIException) -> HttpResponse:
    """Answer `error` as problem details under /api/, as plain text elsewhere."""
    detail = str(error.detail)
    if is_api(request):
        title = HTTPStatus(error.status_code).phrase
        return _api_problem(error.status_code, title, detail, error.default_code.replace("_", "-"))
    return HttpResponse(detail, status=error.status_code, content_type="text/plain; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception):
    """handler400: a bad Host, an oversized body or too many fields outside any API view."""
    if is_api(request):
        return refusal_response(request, request_refusal(exception) or MalformedRequest())
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception):
    if is_api(request):
        return _api_problem(404, "Not Found", f"No API endpoint at {request.path}.", "not-found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    if is_api(request):
        detail = "The server could not complete the request."
        return _api_problem(500, "Internal Server Error", detail, "internal")
    return defaults.server_error(request)
