"""Errors of the epochs domain; each knows its HTTP answer (aura_site.errors)."""

from aura_site.errors import Conflict, Forbidden


class MoveRefused(Conflict):
    """Raised when the epoch refuses an advance, vote, finding, slice or session."""

    def __init__(self, violations: list[str], *, field: str = "non_field_errors") -> None:
        self.violations = violations
        self.field = field
        super().__init__("; ".join(violations), errors={field: violations}, violations=violations)


class EpochExists(Conflict):
    """Raised when an epoch id is already taken."""


class EpochNotRunning(Conflict):
    """Raised when an epoch's workflow is closed or unknown to Temporal."""


class SliceCommandsDisabled(Forbidden):
    """Raised when a command slice is submitted but commands are not allowed."""
