"""The dashboard panels every domain shares: starts waiting for Temporal and the task queues."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from aura_site import subjects
from aura_site.dashboard import queues
from aura_site.dashboard.panels import LIMIT, Panel, register
from aura_site.runs.models import StartIntent
from aura_site.runs.presentation import intent_badge


def pending_starts(kinds: list[str]) -> tuple[list[StartIntent], int]:
    """Return the oldest starts still waiting for Temporal, of the given kinds, and their count."""
    pending = StartIntent.objects.filter(state=StartIntent.State.PENDING, subject_kind__in=kinds)
    rows = list(pending.order_by("created_at")[:LIMIT])
    return rows, len(rows) if len(rows) < LIMIT else pending.count()


def _record_url(intent: StartIntent) -> str:
    """Return the record's admin list searched by its id (no query per row)."""
    found = subjects.get(intent.subject_kind)
    if found is None:
        return ""
    return f"{reverse(found.changelist)}?{urlencode({'q': intent.subject_id})}"


def _pending(request: HttpRequest) -> dict:
    rows, total = pending_starts([found.kind for found in subjects.readable_by(request.user)])
    now = timezone.now()
    return {
        "rows": [
            (intent, _record_url(intent), now - intent.created_at, intent_badge(intent))
            for intent in rows
        ],
        "total": total,
    }


def _queues(request: HttpRequest) -> dict:
    states, error = queues.task_queues()
    return {"queues": states, "error": error, "address": settings.TEMPORAL_ADDRESS}


def register_panels() -> None:
    """Put the shared panels on the dashboard, for users who may view any kind of record."""
    register(
        Panel(
            "pending-starts",
            "Waiting to start",
            "admin/dashboard/pending_starts.html",
            (),
            _pending,
            85,
        )
    )
    register(
        Panel(
            "task-queues",
            "Task queues",
            "admin/dashboard/task_queues.html",
            (),
            _queues,
            86,
        )
    )
