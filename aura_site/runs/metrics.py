"""Workflow start metrics, read from the start intents (the outbox) at scrape time."""

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from aura_site.runs.models import StartIntent


class StartIntentCollector:
    """Start intents by state, and how long the oldest pending one has waited."""

    def collect(self) -> Iterator[Metric]:
        intents = GaugeMetricFamily(
            "aura_start_intents", "Workflow start intents by state.", labels=["state"]
        )
        counts = dict(StartIntent.objects.values_list("state").annotate(n=Count("id")).order_by())
        for state in StartIntent.State.values:
            intents.add_metric([state], counts.get(state, 0))
        yield intents
        yield GaugeMetricFamily(
            "aura_pending_starts",
            "Workflow starts recorded but not yet accepted by Temporal.",
            value=counts.get(StartIntent.State.PENDING, 0),
        )
        oldest = StartIntent.objects.filter(state=StartIntent.State.PENDING).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "aura_pending_start_oldest_age_seconds",
            "How long the oldest pending workflow start has waited (0 when none waits).",
            value=age,
        )
