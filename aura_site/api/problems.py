"""RFC 9457 problem details: the one error shape of every 4xx (and 5xx) the API answers."""

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler
from temporalio.service import RPCError

from aura_site.errors import DomainError, Unavailable
from aura_site.temporal import TemporalUnavailable

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://aura.invalid/problems/"


class RequestTooLarge(exceptions.APIException):
    """HTTP 413: the request carries more than the server accepts."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is larger than the server accepts."
    default_code = "too_large"


class MalformedRequest(exceptions.APIException):
    """HTTP 400: the request itself (URL, headers, framing) is unusable."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be understood."
    default_code = "bad_request"


class URITooLong(exceptions.APIException):
    """HTTP 414: the URL is longer than the server accepts."""

    status_code = status.HTTP_414_REQUEST_URI_TOO_LONG
    default_detail = "The URL is longer than the server accepts."
    default_code = "uri_too_long"


def request_refusal(exc: Exception) -> exceptions.APIException | None:
    """Return the API error for Django's refusal of a whole request, None for other errors.

    Django's own messages name its settings, so each refusal gets a message of ours.
    """
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return RequestTooLarge(f"The request body is larger than {limit} bytes.")
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return RequestTooLarge(f"The request has more than {limit} fields.")
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return RequestTooLarge(f"The request has more than {limit} files.")
    if isinstance(exc, DisallowedHost):
        return MalformedRequest("The Host header names a host this server does not serve.")
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return MalformedRequest()
    return None


def problem_body(
    status_code: int,
    title: str,
    detail: str,
    *,
    code: str,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return the problem-details document."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem(
    status_code: int,
    title: str,
    detail: str,
    *,
    code: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Return a problem-details response."""
    body = problem_body(status_code, title, detail, code=code, errors=errors, **extra)
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error details into {"field.sub.0": [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def _validation_problem(detail: Any) -> Response:
    errors = _flatten(detail)
    first_field, messages = next(iter(errors.items()), ("", ["Invalid input."]))
    summary = messages[0] if first_field == "non_field_errors" else f"{first_field}: {messages[0]}"
    return problem(
        status.HTTP_400_BAD_REQUEST,
        "Invalid input",
        summary,
        code="invalid",
        errors=errors,
    )


def domain_problem(exc: DomainError) -> Response:
    """Return a domain error's problem details (its status, type and field errors)."""
    detail = str(exc)
    if isinstance(exc, Unavailable):
        logger.warning("%s", detail)
        detail = exc.public_detail
    return problem(
        exc.status_code,
        exc.title,
        detail,
        code=exc.code,
        errors=exc.errors,
        **exc.extra,
    )


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: render every error as problem details, never a traceback.

    A browser on the browsable API gets the same document inside its HTML page: its scripts
    show an answer only when it is labelled text/html.
    """
    response = _problem_response(exc, context)
    renderer = getattr(context.get("request"), "accepted_renderer", None)
    if renderer is not None and renderer.media_type == "text/html":
        response.content_type = None
    return response


def _problem_response(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, RPCError):
        logger.warning("Temporal refused a call of %s: %s", context.get("view"), exc)
        exc = TemporalUnavailable()
    if isinstance(exc, DomainError):
        return domain_problem(exc)
    refusal = request_refusal(exc)
    if refusal is not None:
        exc = refusal
    elif isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view"), exc_info=exc)
        if isinstance(exc, DatabaseError):
            return problem(
                503, "Service unavailable", "The database is not available.", code="unavailable"
            )
        return problem(
            500, "Internal error", "The server could not complete the request.", code="internal"
        )

    if isinstance(exc, exceptions.ValidationError):
        return _validation_problem(exc.detail)

    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = {
        k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    extra = getattr(exc, "problem_extra", {})
    return problem(
        response.status_code,
        HTTPStatus(response.status_code).phrase,
        str(detail),
        code=exc.default_code,
        errors=getattr(exc, "problem_errors", None),
        headers=headers,
        **extra,
    )
