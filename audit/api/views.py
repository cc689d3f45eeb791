from rest_framework import viewsets

from audit.api.filters import AuditEventFilter
from audit.api.serializers import AuditEventSerializer
from audit.models import AuditEvent
from aura_site.api.pagination import CursorPagination


class AuditEventPagination(CursorPagination):
    ordering = "-seq"


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first. Read-only: rows are never changed or removed."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = AuditEventPagination
    search_fields = ["subject_id", "event_type", "actor"]
    ordering_fields: list[str] = []

    def get_queryset(self):
        return AuditEvent.objects.all()
