from django.contrib import admin
from django.http import HttpRequest

from audit import subjects
from audit.models import AuditEvent


class DistinctValueFilter(admin.SimpleListFilter):
    """Offer the values the column holds: event types and subject kinds are open-ended."""

    def lookups(self, request, model_admin):
        events = model_admin.get_queryset(request).order_by()
        values = events.values_list(self.parameter_name, flat=True)
        return [(value, value) for value in sorted(values.distinct())]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(**{self.parameter_name: self.value()})


class SubjectKindFilter(DistinctValueFilter):
    title = "subject kind"
    parameter_name = "subject_kind"


class EventTypeFilter(DistinctValueFilter):
    title = "event type"
    parameter_name = "event_type"


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail is read-only for everyone, superusers included; each reader sees the
    events of the subjects they may view."""

    list_display = [
        "seq",
        "occurred_at",
        "subject_kind",
        "subject_id",
        "event_type",
        "phase",
        "actor",
    ]
    list_filter = [SubjectKindFilter, EventTypeFilter, "occurred_at"]
    search_fields = ["subject_id", "event_type", "actor", "workflow_id"]
    date_hierarchy = "occurred_at"
    ordering = ["-seq"]
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest):
        return subjects.visible_to(super().get_queryset(request), request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
