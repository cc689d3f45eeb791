from rest_framework import viewsets

from audit import subjects
from audit.api.filters import AuditEventFilter
from audit.api.serializers import AuditEventSerializer
from audit.models import AuditEvent
from aura_site.api.pagination import CursorPagination
from aura_site.api.permissions import ActionPermissions


class AuditEventPagination(CursorPagination):
    ordering = "-seq"


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first. Read-only: rows are never changed or removed.

    A reader sees only the events of subjects they may view (audit/subjects.py).
    """

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = AuditEventPagination
    search_fields = ["subject_id", "event_type", "actor"]
    ordering_fields: list[str] = []
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": [subjects.VIEW_PERMISSION],
        "retrieve": [subjects.VIEW_PERMISSION],
    }

    def get_queryset(self):
        return subjects.visible_to(AuditEvent.objects.all(), self.request.user)
