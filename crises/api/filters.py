import django_filters

from aura_site.api.filters import FilterSet, IsoDateTimeFilter
from crises.models import Crisis, CrisisStatus


class CrisisFilter(FilterSet):
    # A plain column: no join, so no duplicate rows to remove. The default distinct=True would
    # make the page a SELECT DISTINCT over every column and sort all matches before the LIMIT.
    status = django_filters.MultipleChoiceFilter(choices=CrisisStatus.choices, distinct=False)
    target = django_filters.CharFilter(lookup_expr="iexact")
    target_contains = django_filters.CharFilter(field_name="target", lookup_expr="icontains")
    initiated_by = django_filters.CharFilter(lookup_expr="iexact")
    user = django_filters.CharFilter(field_name="initiated_by_user__username")
    schedule = django_filters.CharFilter(field_name="schedule__name")
    scheduled = django_filters.BooleanFilter(
        field_name="schedule", lookup_expr="isnull", exclude=True
    )
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    date = django_filters.DateFilter(field_name="started_at", lookup_expr="date")

    class Meta:
        model = Crisis
        fields = ["status", "target", "initiated_by", "workflow_id"]
