"""Domain errors that know their HTTP answer.

Services raise these; the API's one exception handler renders them as problem details, and the
admin and the management commands show their message. Views never translate them by hand.
"""

from typing import Any


class DomainError(Exception):
    """A refusal a caller can act on: `status_code` and `code` say how the API answers it."""

    status_code = 400
    code = "invalid"
    title = "Invalid request"

    def __init__(
        self,
        message: str,
        *,
        errors: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.errors = errors
        self.extra = extra


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    code = "permission_denied"
    title = "Forbidden"


class Conflict(DomainError):
    """The request is well-formed, but the record's state does not allow it."""

    status_code = 409
    code = "conflict"
    title = "Conflict"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key came back with a different request."""

    status_code = 422
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused"


class Unavailable(DomainError):
    """A service the request needs (Temporal, the database) cannot be reached right now.

    The message may name the server and its error, for the log and the operator's terminal;
    API clients get `public_detail` instead, which names nothing internal.
    """

    status_code = 503
    code = "unavailable"
    title = "Service unavailable"
    public_detail = "A service this request needs is not available; try again shortly."


class StartRefused(Conflict):
    """The record was accepted, but Temporal refused its workflow for good."""

    code = "start_refused"
    title = "Could not start"
