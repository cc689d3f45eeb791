"""`AuditLogWorkflow`: one epoch's audit events, kept in Temporal itself (the `temporal` trail).

No Django here: the workflow sandbox re-imports this module.
"""

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from audit.events import AuditEvent

# The run continues as new once its history holds this many events (or the server suggests
# it), carrying its events, so a long epoch never hits the history limits.
HISTORY_THRESHOLD = 10_000


def audit_workflow_id(epoch_id: str) -> str:
    return f"aura-audit-{epoch_id}"


@dataclass(frozen=True)
class Entry:
    """An appended event and the key that makes appending it again a no-op."""

    key: str
    event: AuditEvent


@dataclass
class AuditLogInput:
    epoch_id: str
    entries: list[Entry] = field(default_factory=list)
    history_threshold: int = HISTORY_THRESHOLD


@workflow.defn
class AuditLogWorkflow:
    """Holds an epoch's audit events in append order and answers queries over them."""

    @workflow.init
    def __init__(self, input: AuditLogInput) -> None:
        self._input = input
        self._entries = list(input.entries)
        self._keys = {entry.key for entry in self._entries}

    @workflow.run
    async def run(self, input: AuditLogInput) -> None:
        await workflow.wait_condition(self._history_is_long)
        # Appends already accepted finish before the history is cut.
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            AuditLogInput(
                epoch_id=input.epoch_id,
                entries=self._entries,
                history_threshold=input.history_threshold,
            )
        )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._input.history_threshold
        )

    @workflow.update
    def append(self, entry: Entry) -> bool:
        """Append the event unless its key was seen; return whether it was appended."""
        if entry.key in self._keys:
            return False
        self._keys.add(entry.key)
        self._entries.append(entry)
        return True

    @workflow.query
    def events(self, phase: str | None = None, role: str | None = None) -> list[AuditEvent]:
        return [
            entry.event
            for entry in self._entries
            if (phase is None or entry.event.phase == phase)
            and (role is None or entry.event.role == role)
        ]
