"""The dashboard's panels: each app registers its own from `AppConfig.ready()`.

The project package imports no domain app, so crises, epochs and the audit trail each say what
they show (a context function and a template) and who may see it (any of `permissions`).
Status counts and failure lists read the same for every domain (`StatusCount`, `Failure`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse

# Rows per list panel: the changelists hold the rest.
LIMIT = 10


@dataclass(frozen=True)
class Panel:
    """One box on the dashboard; `order` places it, `wide` spans both columns.

    Shown to users holding any of `permissions`; with none, to users who may view any kind of
    record (the panels about work of every kind).
    """

    key: str
    title: str
    template: str
    permissions: tuple[str, ...]
    context: Callable[[HttpRequest], dict[str, Any]]
    order: int
    wide: bool = False


@dataclass(frozen=True)
class Subject:
    """A kind of record whose workflow starts go through the outbox, and how to reach it."""

    kind: str
    view_permission: str
    changelist: str  # admin URL name, e.g. "admin:crises_crisis_changelist"


@dataclass(frozen=True)
class StatusCount:
    value: str
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class Failure:
    record_id: str
    status: str
    error: str
    at: datetime | None
    url: str


_panels: dict[str, Panel] = {}
_subjects: dict[str, Subject] = {}


def register(panel: Panel) -> None:
    """Add `panel` to the dashboard (registering a key again replaces it)."""
    _panels[panel.key] = panel


def register_subject(kind: str, *, view_permission: str, changelist: str) -> None:
    """Declare a record kind: pending starts and task queues are shown to those who view it."""
    _subjects[kind] = Subject(kind, view_permission, changelist)


def subjects_for(user: Any) -> list[Subject]:
    """Return the record kinds `user` may view."""
    return [subject for subject in _subjects.values() if user.has_perm(subject.view_permission)]


def subject(kind: str) -> Subject | None:
    return _subjects.get(kind)


def visible_panels(request: HttpRequest) -> list[tuple[Panel, dict[str, Any]]]:
    """Return the panels the user may see, in order, each with its context."""
    user = request.user
    panels = sorted(_panels.values(), key=lambda panel: panel.order)
    views_records = bool(subjects_for(user))
    return [
        (panel, panel.context(request))
        for panel in panels
        if any(user.has_perm(permission) for permission in panel.permissions)
        or (not panel.permissions and views_records)
    ]


def status_counts(
    queryset: QuerySet, choices: list[tuple[str, str]], changelist: str
) -> list[StatusCount]:
    """Return how many rows are in each status, each linking to the filtered changelist."""
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))
    url = reverse(changelist)
    return [
        StatusCount(value, label, counts.get(value, 0), f"{url}?status__exact={value}")
        for value, label in choices
    ]
