"""Errors of the epochs domain, and their REST forms."""

from rest_framework import status
from rest_framework.exceptions import APIException


class EpochError(Exception):
    """Base of the epochs domain errors."""


class MoveRefused(EpochError):
    """Raised when the epoch refuses an advance, vote, finding, slice or session."""

    def __init__(self, violations: list[str], *, field: str = "non_field_errors") -> None:
        self.violations = violations
        self.field = field
        super().__init__("; ".join(violations))


class EpochExists(EpochError):
    """Raised when an epoch id is already taken."""


class EpochNotRunning(EpochError):
    """Raised when an epoch's workflow is closed or unknown to Temporal."""


class SliceCommandsDisabled(EpochError):
    """Raised when a command slice is submitted but commands are not allowed."""


class Conflict(APIException):
    """HTTP 409: the request is well-formed but the epoch's state refuses it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The epoch's state does not allow this."
    default_code = "conflict"

    def __init__(
        self, detail: str, *, errors: dict[str, list[str]] | None = None, violations=None
    ) -> None:
        super().__init__(detail)
        self.problem_errors = errors
        self.problem_extra = {"violations": violations} if violations is not None else {}
