"""OpenAPI: document the problem-details answers every operation can give."""

from typing import Any

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages per field (validation errors only).",
        },
    },
    "required": ["type", "title", "status", "detail"],
}

_ANSWERS = {
    "400": "Invalid input (the `errors` member names each field).",
    "401": "Not authenticated.",
    "403": "Not allowed.",
    "404": "Not found.",
    "405": "Method not allowed.",
    "409": "Conflict with the current state.",
    "413": "The request body (or its number of fields) is over the limit.",
    "414": "The URL is over the limit.",
    "429": "Too many requests: wait the `Retry-After` seconds.",
    "503": "A backing service (Temporal, the database) is unavailable.",
}


# Operations that take a body may also answer these.
_BODY_ANSWERS = {"415": "The body's media type is not accepted, or cannot be read."}
# Operations that take an Idempotency-Key may also answer these.
_IDEMPOTENT_ANSWERS = {"422": "The Idempotency-Key was used before for a different request."}


def _answers(operation: dict[str, Any]) -> dict[str, str]:
    answers = dict(_ANSWERS)
    if "requestBody" in operation:
        answers |= _BODY_ANSWERS
    if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
        answers |= _IDEMPOTENT_ANSWERS
    return answers


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation may answer these problems."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in _answers(operation).items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": reference}},
                    },
                )
    return result
