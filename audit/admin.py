from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


class SubjectKindFilter(admin.SimpleListFilter):
    title = "subject kind"
    parameter_name = "subject_kind"

    def lookups(self, request, model_admin):
        kinds = AuditEvent.objects.order_by().values_list("subject_kind", flat=True).distinct()
        return [(kind, kind) for kind in sorted(kinds)]

    def queryset(self, request, queryset):
        return queryset.filter(subject_kind=self.value()) if self.value() else queryset


class EventTypeFilter(SubjectKindFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        types = AuditEvent.objects.order_by().values_list("event_type", flat=True).distinct()
        return [(event_type, event_type) for event_type in sorted(types)]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail is read-only for everyone, superusers included."""

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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
