import django_filters

from audit.models import AuditEvent
from aura_site.api.filters import IsoDateTimeFilter


class AuditEventFilter(django_filters.FilterSet):
    subject = django_filters.CharFilter(
        method="filter_subject", label="Subject as kind:id (e.g. crisis:crisis-alpha-1)"
    )
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = [
            "subject_kind",
            "subject_id",
            "event_type",
            "phase",
            "role",
            "actor",
            "workflow_id",
        ]

    def filter_subject(self, queryset, name: str, value: str):
        kind, _, subject_id = value.partition(":")
        queryset = queryset.filter(subject_kind=kind)
        return queryset.filter(subject_id=subject_id) if subject_id else queryset
