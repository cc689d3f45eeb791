"""How a start's state reads in the admin: one message and one badge for every domain."""

from typing import Any

from django.contrib import messages
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from aura_site.runs.models import StartIntent
from aura_site.runs.outbox import StartOutcome


def start_message(label: str, start: StartOutcome | None, *, verb: str) -> tuple[int, str]:
    """Return the admin message level and text after a start request for `label`."""
    if start is None:
        return messages.INFO, f"{label} was already {verb} by an identical request."
    if start.pending:
        return messages.WARNING, (
            f"{label} {verb}; waiting to start: Temporal cannot take it now. A worker starts "
            "it as soon as Temporal is reachable (the badge's tooltip shows the last error)."
        )
    if start.failed:
        return messages.ERROR, f"{label} could not start: {start.error}"
    return messages.SUCCESS, f"{label} {verb}."


def waiting_badge(record: Any) -> SafeString:
    """Return the "waiting to start" badge of a record from `outbox.with_start()` (or none)."""
    start = getattr(record, "start_json", None) or {}
    if start.get("state") != StartIntent.State.PENDING:
        return mark_safe("")
    return _badge(start.get("attempts", 0), start.get("last_error", ""))


def intent_badge(intent: StartIntent) -> SafeString:
    """Return the same badge for a pending start intent itself (the dashboard lists them)."""
    if not intent.is_pending:
        return mark_safe("")
    return _badge(intent.attempts, intent.last_error)


def _badge(attempts: int, last_error: str) -> SafeString:
    return format_html(
        '<span class="start-pending" title="{}">waiting to start (attempt {})</span>',
        last_error or "not tried yet",
        attempts,
    )
