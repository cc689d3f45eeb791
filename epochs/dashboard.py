"""The epoch panels of the admin dashboard: counts, epochs by phase, failures, running."""

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse

from aura_site.dashboard.charts import Chart, phase_chart
from aura_site.dashboard.panels import LIMIT, Failure, Panel, register, status_counts
from epochs.admin import progress_bar
from epochs.models import PHASE_CHOICES, Epoch

VIEW = ("epochs.view_epoch",)
OPEN = (Epoch.Status.INITIATED, Epoch.Status.RUNNING)


def phases_chart() -> Chart:
    """Return the chart of epochs by current phase, each bar linking to its filtered list."""
    counts = dict(Epoch.objects.order_by().values_list("current_phase").annotate(n=Count("pk")))
    url = reverse("admin:epochs_epoch_changelist")
    rows = [
        (label, counts.get(value, 0), f"{url}?phase={value}") for value, label in PHASE_CHOICES
    ]
    return phase_chart(rows, title="Epochs by current phase")


def latest_failures() -> list[Failure]:
    """Return the latest failed epochs with their last error."""
    rows = Epoch.objects.filter(status=Epoch.Status.FAILED).order_by("-updated_at")[:LIMIT]
    return [
        Failure(
            epoch.epoch_id,
            epoch.get_status_display(),
            epoch.last_error,
            epoch.completed_at or epoch.updated_at,
            reverse("admin:epochs_epoch_change", args=[epoch.pk]),
        )
        for epoch in rows
    ]


def running() -> tuple[list[Epoch], int]:
    """Return the oldest open epochs and how many are open."""
    active = Epoch.objects.filter(status__in=OPEN)
    rows = list(active.order_by("created_at")[:LIMIT])
    return rows, len(rows) if len(rows) < LIMIT else active.count()


def _counts(request: HttpRequest) -> dict:
    return {
        "counts": status_counts(
            Epoch.objects.all(), Epoch.Status.choices, "admin:epochs_epoch_changelist"
        )
    }


def _phases(request: HttpRequest) -> dict:
    return {"chart": phases_chart()}


def _failures(request: HttpRequest) -> dict:
    return {
        "failures": latest_failures(),
        "more_url": reverse("admin:epochs_epoch_changelist") + "?status__exact=failed",
    }


def _running(request: HttpRequest) -> dict:
    rows, total = running()
    return {
        "rows": [(epoch, progress_bar(epoch)) for epoch in rows],
        "total": total,
        "stuck_url": reverse("admin:epochs_epoch_stuck"),
        "list_url": reverse("admin:epochs_epoch_changelist") + "?status__exact=running",
    }


def register_panels() -> None:
    """Put the epoch panels on the dashboard."""
    register(
        Panel(
            "epoch-counts",
            "Epochs by status",
            "admin/dashboard/status_counts.html",
            VIEW,
            _counts,
            20,
        )
    )
    register(
        Panel(
            "epoch-phases",
            "Epochs by phase",
            "admin/dashboard/phase_chart.html",
            VIEW,
            _phases,
            40,
        )
    )
    register(
        Panel(
            "epoch-failures",
            "Latest failed epochs",
            "admin/dashboard/failures.html",
            VIEW,
            _failures,
            60,
        )
    )
    register(
        Panel(
            "epoch-running",
            "Running epochs",
            "admin/epochs/dashboard_running.html",
            VIEW,
            _running,
            80,
        )
    )
