"""Errors of the crisis domain; each boundary (API, admin, CLI, agency) translates them."""


class CrisisError(Exception):
    """Base class of the crisis domain's errors."""


class InvalidCrisisRequest(CrisisError):
    """Raised when a crisis request breaks the rules; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(f"{field}: {messages[0]}")


class CrisisNotFound(CrisisError):
    """Raised when no crisis has the given crisis id or workflow id."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"No crisis with id or workflow id {reference!r}.")


class CrisisNotActive(CrisisError):
    """Raised when cancelling a crisis that has already ended."""


class IdempotencyKeyReused(CrisisError):
    """Raised when an Idempotency-Key comes back with a different request."""


class WorkflowStartFailed(CrisisError):
    """Raised when the crisis was recorded but its workflow could not be started."""

    def __init__(self, message: str, *, crisis_id: str) -> None:
        self.crisis_id = crisis_id
        super().__init__(message)
