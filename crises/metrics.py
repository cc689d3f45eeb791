"""Crisis metrics, read from PostgreSQL at scrape time (every web process answers the same)."""

from collections.abc import Iterator

from django.db import connection
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from crises.models import Crisis, CrisisPhase, CrisisStatus, PhaseStatus

# Upper bounds (seconds) of the phase duration histogram: agent missions take seconds to minutes.
PHASE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

_PHASE_TABLE = CrisisPhase._meta.db_table
# One pass over the finished phases: per status, a count per bucket, the count and the sum.
_DURATIONS_SQL = (
    "SELECT status, "
    + ", ".join(f"count(*) FILTER (WHERE d <= {bound})" for bound in PHASE_BUCKETS)
    + ", count(*), coalesce(sum(d), 0) FROM ("
    f"  SELECT status, extract(epoch FROM finished_at - started_at) AS d FROM {_PHASE_TABLE}"
    "   WHERE started_at IS NOT NULL AND finished_at IS NOT NULL"
    ") AS finished GROUP BY status"
)
_ATTEMPTS_SQL = (
    "SELECT coalesce(sum(attempts), 0),"
    "       count(*) FILTER (WHERE status = %s),"
    "       count(*) FILTER (WHERE status = %s),"
    "       coalesce(sum(greatest(attempts - 1, 0)), 0)"
    f" FROM {_PHASE_TABLE}"
)


class CrisisCollector:
    """Crises by status, mission phases by status and duration, mission attempts and retries."""

    def collect(self) -> Iterator[Metric]:
        crises = GaugeMetricFamily("aura_crises", "Crises by status.", labels=["status"])
        counts = dict(Crisis.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in CrisisStatus.values:
            crises.add_metric([status], counts.get(status, 0))
        yield crises

        phases = GaugeMetricFamily(
            "aura_crisis_phases", "Crisis mission phases by status.", labels=["status"]
        )
        counts = dict(CrisisPhase.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in PhaseStatus.values:
            phases.add_metric([status], counts.get(status, 0))
        yield phases

        durations = HistogramMetricFamily(
            "aura_crisis_phase_duration_seconds",
            "How long finished mission phases ran (all attempts), by final status.",
            labels=["status"],
        )
        with connection.cursor() as cursor:
            cursor.execute(_DURATIONS_SQL)
            rows = cursor.fetchall()
            cursor.execute(_ATTEMPTS_SQL, [PhaseStatus.COMPLETED, PhaseStatus.RUNNING])
            attempts, succeeded, in_flight, retries = cursor.fetchone()
        for status, *cumulative, total, seconds in rows:
            buckets = [(str(b), n) for b, n in zip(PHASE_BUCKETS, cumulative, strict=True)]
            durations.add_metric([status], [*buckets, ("+Inf", total)], float(seconds))
        yield durations

        outcomes = CounterMetricFamily(
            "aura_mission_attempts",
            "Agent mission attempts that ended, by outcome (a completed phase's last attempt "
            "succeeded, every other ended attempt failed).",
            labels=["outcome"],
        )
        outcomes.add_metric(["succeeded"], succeeded)
        outcomes.add_metric(["failed"], attempts - succeeded - in_flight)
        yield outcomes
        yield CounterMetricFamily(
            "aura_mission_retries",
            "Agent mission attempts after a phase's first one.",
            value=retries,
        )
