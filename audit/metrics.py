"""Audit trail metrics, read from PostgreSQL at scrape time (every web process agrees)."""

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from audit.models import AuditVerification, ChainHead


class AuditCollector:
    """Audit events written (the chain head's position) and the last `verify_audit` run."""

    def collect(self) -> Iterator[Metric]:
        head = ChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
        yield CounterMetricFamily(
            "aura_audit_events", "Audit events written to the hash chain.", value=head or 0
        )
        last = AuditVerification.objects.order_by("-finished_at").first()
        if last is None:
            return  # never verified: no series, rather than a misleading zero
        yield GaugeMetricFamily(
            "aura_audit_verification_timestamp_seconds",
            "When the last `manage.py verify_audit` finished (Unix time).",
            value=last.finished_at.timestamp(),
        )
        yield GaugeMetricFamily(
            "aura_audit_verification_duration_seconds",
            "How long the last `manage.py verify_audit` took.",
            value=(last.finished_at - last.started_at).total_seconds(),
        )
        yield GaugeMetricFamily(
            "aura_audit_verification_rows",
            "Rows the last `manage.py verify_audit` checked.",
            value=last.rows_checked,
        )
        yield GaugeMetricFamily(
            "aura_audit_verification_ok",
            "1 when the last `manage.py verify_audit` found the chain intact, else 0.",
            value=1 if last.intact else 0,
        )
