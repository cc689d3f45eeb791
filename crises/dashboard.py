"""The crisis panels of the admin dashboard: counts, activity per hour, failures, running."""

from datetime import datetime, timedelta

from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from aura_site.dashboard.charts import Chart, Series, hourly_chart
from aura_site.dashboard.panels import LIMIT, Failure, Panel, register, status_counts
from crises.models import ACTIVE_STATUSES, Crisis, CrisisPhase, CrisisStatus, PhaseStatus

VIEW = ("crises.view_crisis",)
FAILED_STATUSES = (CrisisStatus.FAILED, CrisisStatus.PARTIAL_FAILURE)
HOURLY_SERIES = [
    Series("started", "Started", "bar-started"),
    Series("completed", "Completed", "bar-completed"),
    Series("failed", "Failed or partial failure", "bar-failed"),
]


def _per_hour(queryset: QuerySet, field: str, since: datetime) -> dict[datetime, int]:
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .order_by()
        .annotate(hour=TruncHour(field))
        .values_list("hour")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def activity_chart(now: datetime, hours: int = 24) -> Chart:
    """Return the chart of crises started, completed and failed per hour over `hours` hours."""
    current = now.replace(minute=0, second=0, microsecond=0)
    buckets = [current - timedelta(hours=hours - 1 - index) for index in range(hours)]
    since = buckets[0]
    crises = Crisis.objects.all()
    per_kind = {
        "started": _per_hour(crises, "started_at", since),
        "completed": _per_hour(
            crises.filter(status=CrisisStatus.COMPLETED), "completed_at", since
        ),
        "failed": _per_hour(crises.filter(status__in=FAILED_STATUSES), "completed_at", since),
    }
    counts = {kind: [found.get(hour, 0) for hour in buckets] for kind, found in per_kind.items()}
    return hourly_chart(
        buckets, counts, HOURLY_SERIES, title="Crises per hour, last 24 hours (UTC)"
    )


def latest_failures() -> list[Failure]:
    """Return the latest failed and partially failed crises, with the first failed phase's
    error when the crisis itself has none."""
    first_phase_error = CrisisPhase.objects.filter(
        crisis=OuterRef("pk"), status=PhaseStatus.FAILED
    ).order_by("position")
    rows = (
        Crisis.objects.filter(status__in=FAILED_STATUSES)
        .order_by("-completed_at")
        .annotate(phase_error=Subquery(first_phase_error.values("error")[:1]))[:LIMIT]
    )
    return [
        Failure(
            crisis.crisis_id,
            crisis.get_status_display(),
            crisis.error or crisis.phase_error or "",
            crisis.completed_at,
            reverse("admin:crises_crisis_change", args=[crisis.pk]),
        )
        for crisis in rows
    ]


def running() -> tuple[list[Crisis], int]:
    """Return the oldest active crises (with phase counts) and how many are active."""
    active = Crisis.objects.filter(status__in=ACTIVE_STATUSES)
    rows = list(active.with_progress().order_by("started_at")[:LIMIT])
    return rows, len(rows) if len(rows) < LIMIT else active.count()


def _counts(request: HttpRequest) -> dict:
    return {
        "counts": status_counts(
            Crisis.objects.all(), CrisisStatus.choices, "admin:crises_crisis_changelist"
        )
    }


def _activity(request: HttpRequest) -> dict:
    return {"chart": activity_chart(timezone.now()), "series": HOURLY_SERIES}


def _failures(request: HttpRequest) -> dict:
    return {
        "failures": latest_failures(),
        "more_url": reverse("admin:crises_crisis_changelist") + "?status__exact=failed",
    }


def _running(request: HttpRequest) -> dict:
    rows, total = running()
    progress = admin.site.get_model_admin(Crisis).progress  # the changelist's "done/total"
    return {
        "rows": [(crisis, progress(crisis)) for crisis in rows],
        "total": total,
        "stuck_url": reverse("admin:crises_crisis_stuck"),
        "list_url": reverse("admin:crises_crisis_changelist") + "?status__exact=running",
    }


def register_panels() -> None:
    """Put the crisis panels on the dashboard."""
    register(
        Panel(
            "crisis-counts",
            "Crises by status",
            "admin/dashboard/status_counts.html",
            VIEW,
            _counts,
            10,
        )
    )
    register(
        Panel(
            "crisis-activity",
            "Crises per hour",
            "admin/dashboard/hourly_chart.html",
            VIEW,
            _activity,
            30,
            wide=True,
        )
    )
    register(
        Panel(
            "crisis-failures",
            "Latest failed crises",
            "admin/dashboard/failures.html",
            VIEW,
            _failures,
            50,
        )
    )
    register(
        Panel(
            "crisis-running",
            "Running crises",
            "admin/crises/dashboard_running.html",
            VIEW,
            _running,
            70,
        )
    )
