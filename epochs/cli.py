"""The `aura-msg` vocabulary and output: command words, formats, error reports, formatters.

Pure Python, so `manage.py aura_msg` and anything else speaking aura-msg print the same text
and JSON. The error report is four lines (what / why / impact / fix) on stderr.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TextIO

from epochs.inputs import QueryStateResult


class CmdGroup(StrEnum):
    """aura-msg's first word."""

    Query = "query"
    Epoch = "epoch"
    Signal = "signal"
    Phase = "phase"
    Session = "session"


class SubCommand(StrEnum):
    """aura-msg's second word."""

    State = "state"
    Start = "start"
    Vote = "vote"
    Complete = "complete"
    Advance = "advance"
    Register = "register"


class OutputFormat(StrEnum):
    """How aura-msg prints results."""

    Json = "json"
    Text = "text"


class ErrorCategory(StrEnum):
    """The first words of an error report; each has its exit code."""

    Connection = "connection error"
    Workflow = "workflow error"
    Validation = "validation error"


# 0 is success; 1 is also what usage errors and "not implemented" exit with.
EXIT_CODES: dict[ErrorCategory, int] = {
    ErrorCategory.Validation: 1,
    ErrorCategory.Connection: 2,
    ErrorCategory.Workflow: 3,
}


def format_error(category: ErrorCategory | str, what: str, why: str, impact: str, fix: str) -> str:
    """Return the four-line error report."""
    return f"{category}: {what}\n  why: {why}\n  impact: {impact}\n  fix: {fix}"


def report_error(
    category: ErrorCategory | str,
    what: str,
    why: str,
    impact: str,
    fix: str,
    *,
    file: TextIO | None = None,
) -> None:
    """Print the four-line error report to `file` (stderr by default)."""
    print(format_error(category, what, why, impact, fix), file=file or sys.stderr)


def format_start_result(workflow_id: str, run_id: str, fmt: OutputFormat | str) -> str:
    """Return what `epoch start` prints."""
    if fmt == OutputFormat.Json:
        return json.dumps({"workflow_id": workflow_id, "run_id": run_id})
    return f"Started epoch: workflow_id={workflow_id}, run_id={run_id}"


def format_signal_result(success: bool, fmt: OutputFormat | str) -> str:
    """Return what a signal command prints."""
    if fmt == OutputFormat.Json:
        return json.dumps({"success": success})
    return "Signal delivered successfully" if success else "Signal delivery failed"


def format_epoch_state(state: QueryStateResult, fmt: OutputFormat | str) -> str:
    """Return what `query state` prints for the `full_state` query."""
    if fmt == OutputFormat.Json:
        return json.dumps(
            {
                "current_phase": str(state.current_phase),
                "current_role": str(state.current_role),
                "transition_history": [
                    {
                        "from_phase": str(r.from_phase),
                        "to_phase": str(r.to_phase),
                        "timestamp": r.timestamp.isoformat(),
                        "triggered_by": r.triggered_by,
                        "condition_met": r.condition_met,
                        "success": r.success,
                    }
                    for r in state.transition_history
                ],
                "votes": {str(axis): str(vote) for axis, vote in state.votes.items()},
                "last_error": state.last_error,
                "available_transitions": [
                    {"to_phase": str(t.to_phase), "condition": t.condition}
                    for t in state.available_transitions
                ],
                "active_session_count": state.active_session_count,
            },
            indent=2,
        )
    lines = [f"Phase: {state.current_phase}", f"Role:  {state.current_role}"]
    if state.votes:
        lines.append("Votes:")
        lines += [f"  {axis}: {vote}" for axis, vote in state.votes.items()]
    else:
        lines.append("Votes: (none)")
    if state.last_error:
        lines.append(f"Last Error: {state.last_error}")
    # A complete epoch has no moves left: no header over an empty list.
    if state.available_transitions:
        lines.append("Available Transitions:")
        lines += [f"  -> {t.to_phase} ({t.condition})" for t in state.available_transitions]
    lines.append(f"Transitions: {len(state.transition_history)}")
    lines.append(f"Active Sessions: {state.active_session_count}")
    return "\n".join(lines)
