"""Errors of the crisis domain; each knows its HTTP answer (aura_site.errors)."""

from aura_site.errors import Conflict, DomainError, NotFound


class InvalidCrisisRequest(DomainError):
    """Raised when a crisis request breaks the rules; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        field, messages = next(iter(errors.items()))
        super().__init__(f"{field}: {messages[0]}", errors=errors)


class CrisisNotFound(NotFound):
    """Raised when no crisis has the given crisis id or workflow id."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"No crisis with id or workflow id {reference!r}.")


class CrisisNotActive(Conflict):
    """Raised when cancelling a crisis that has already ended."""


class WorkflowStartFailed(Conflict):
    """Raised when a recorded crisis's workflow could not be started, for good."""

    code = "start_failed"
    title = "Could not start"

    def __init__(self, message: str, *, crisis_id: str) -> None:
        self.crisis_id = crisis_id
        super().__init__(message, crisis_id=crisis_id)
