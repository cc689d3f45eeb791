"""The audit trail's contract: its event and the trail protocol. No Django: workflows import it."""

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class AuditEvent:
    """Something that happened to an epoch. Enum members (StrEnum) may stand for the strings."""

    epoch_id: str
    event_type: str
    phase: str
    role: str
    payload: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class AuditTrail(Protocol):
    """Where audit events go; the worker injects one with init_audit_trail()."""

    async def record_event(self, event: AuditEvent) -> None: ...

    async def query_events(
        self, *, epoch_id: str | None = None, phase: str | None = None, role: str | None = None
    ) -> list[AuditEvent]:
        """Return the matching events (filters AND-combined) in chronological order."""
        ...
