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

from aura_site import subjects

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


def register(panel: Panel) -> None:
    """Add `panel` to the dashboard (registering a key again replaces it)."""
    _panels[panel.key] = panel


def visible_panels(request: HttpRequest) -> list[tuple[Panel, dict[str, Any]]]:
    """Return the panels the user may see, in order, each with its context."""
    user = request.user
    panels = sorted(_panels.values(), key=lambda panel: panel.order)
    views_records = bool(subjects.readable_by(user))
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
