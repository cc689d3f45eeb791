"""Problem-details answers for URLs no API view handled."""

from django.http import HttpRequest, JsonResponse
from django.views import defaults

from aura_site.api.problems import PROBLEM_CONTENT_TYPE, problem_body


def _api_problem(status: int, title: str, detail: str, code: str) -> JsonResponse:
    body = problem_body(status, title, detail, code=code)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def page_not_found(request: HttpRequest, exception: Exception):
    if request.path.startswith("/api/"):
        return _api_problem(404, "Not Found", f"No API endpoint at {request.path}.", "not-found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    if request.path.startswith("/api/"):
        detail = "The server could not complete the request."
        return _api_problem(500, "Internal Server Error", detail, "internal")
    return defaults.server_error(request)
