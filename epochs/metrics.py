"""Epoch metrics, read from PostgreSQL at scrape time (every web process answers the same)."""

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from epochs.models import Epoch, EpochTransition


class EpochCollector:
    """Epochs by phase and status, and phase transitions by result (refused ones too)."""

    def collect(self) -> Iterator[Metric]:
        epochs = GaugeMetricFamily(
            "aura_epochs", "Epochs by current phase and status.", labels=["phase", "status"]
        )
        rows = Epoch.objects.values_list("current_phase", "status").annotate(n=Count("id"))
        for phase, status, count in rows.order_by():
            epochs.add_metric([phase, status], count)
        yield epochs

        transitions = CounterMetricFamily(
            "aura_epoch_transitions",
            "Phase transitions asked of epochs, by result: accepted or refused.",
            labels=["result"],
        )
        counts = dict(
            EpochTransition.objects.values_list("success").annotate(n=Count("id")).order_by()
        )
        transitions.add_metric(["accepted"], counts.get(True, 0))
        transitions.add_metric(["refused"], counts.get(False, 0))
        yield transitions
