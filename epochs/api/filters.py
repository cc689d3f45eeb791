import django_filters
from django.core.exceptions import ValidationError

from aura_site.api.filters import FilterSet
from epochs.models import Epoch
from epochs.protocol import parse_phase_id


class EpochFilter(FilterSet):
    phase = django_filters.CharFilter(
        method="filter_phase", label="Current phase in any spelling (p4, 4, review)"
    )

    class Meta:
        model = Epoch
        fields = ["status", "domain"]

    def filter_phase(self, queryset, name: str, value: str):
        try:
            phase = parse_phase_id(value)
        except ValueError as exc:
            raise ValidationError({"phase": [str(exc)]}) from None
        return queryset.filter(current_phase=phase.value)
