"""REST endpoints of epochs: start, list, detail, and the protocol's moves as actions."""

import functools

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audit.api.serializers import AuditEventSerializer
from audit.models import AuditEvent
from audit.services import user_actor
from aura_site.api.lists import keyed_page
from aura_site.api.permissions import ActionPermissions
from aura_site.api.reasons import ReasonSerializer, RequiredReasonSerializer
from aura_site.api.starts import IDEMPOTENCY_PARAMETER, idempotency_key, start_status
from aura_site.runs import outbox
from epochs import services
from epochs.api import serializers
from epochs.api.filters import EpochFilter
from epochs.models import Epoch


def epoch_records() -> QuerySet[Epoch]:
    """Return the epochs as the API reads them, with their start intents."""
    return _epoch_records().all()


@functools.cache
def _epoch_records() -> QuerySet[Epoch]:
    """Built once per process, as crises' are (crises.api.views._crisis_records)."""
    return outbox.with_start(Epoch.objects.select_related("started_by"), "epoch_id")


class EpochViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Aura Protocol v3 epochs. Moves answer 409 with the protocol's messages when refused."""

    serializer_class = serializers.EpochSerializer
    filterset_class = EpochFilter
    # Protocol roles are Django permissions, one per move.
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": ["epochs.view_epoch"],
        "retrieve": ["epochs.view_epoch"],
        "history": ["epochs.view_epoch"],
        "audit_events": ["epochs.view_epoch", "audit.view_auditevent"],
        "create": ["epochs.add_epoch"],
        "advance": ["epochs.view_epoch", "epochs.advance_epoch"],
        "votes": ["epochs.view_epoch", "epochs.vote_epoch"],
        "blockers": ["epochs.view_epoch", "epochs.record_blocker"],
        "slices": ["epochs.view_epoch", "epochs.submit_slice"],
        "sessions": ["epochs.view_epoch", "epochs.register_session"],
        "cancel": ["epochs.view_epoch", "epochs.cancel_epoch"],
        "terminate": ["epochs.view_epoch", "epochs.terminate_epoch"],
    }
    lookup_field = "epoch_id"
    lookup_value_regex = "[^/]+"
    search_fields = ["epoch_id", "request_description"]
    ordering_fields = ["created_at", "updated_at", "current_phase", "status"]

    def get_queryset(self) -> QuerySet[Epoch]:
        return epoch_records()

    def get_serializer_class(self):
        return {
            "create": serializers.EpochStartSerializer,
            "advance": serializers.AdvanceSerializer,
            "votes": serializers.VoteSerializer,
            "blockers": serializers.BlockerSerializer,
            "slices": serializers.SliceSerializer,
            "sessions": serializers.SessionSerializer,
            "cancel": ReasonSerializer,
            "terminate": RequiredReasonSerializer,
            "history": serializers.TransitionSerializer,
            "audit_events": AuditEventSerializer,
        }.get(self.action, serializers.EpochSerializer)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: serializers.EpochSerializer,
            202: OpenApiResponse(serializers.EpochSerializer, "Recorded; waiting to start."),
            200: OpenApiResponse(serializers.EpochSerializer, "A repeat: the first epoch."),
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Start an epoch; 202 while Temporal cannot take the start (a worker starts it later)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = services.start_epoch(
            **serializer.validated_data,
            user=request.user,
            idempotency_key=idempotency_key(request),
        )
        code = start_status(created=started.created, start=started.start, label="The epoch")
        epoch = self.get_queryset().get(pk=started.record.pk)
        return Response(serializers.epoch_detail(epoch, None), status=code)

    def list(self, request: Request, *args, **kwargs) -> Response:
        """The filtered, ordered page, rendered as `EpochSerializer` does, in plain dicts."""
        # Its rows from a compiled-once query. The docstring is the API's description.
        return keyed_page(self, Epoch, serializers.epoch_list_renderer().render)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        epoch = self.get_object()
        return Response(serializers.epoch_detail(epoch, services.live_snapshot(epoch)))

    def _move(self, request: Request, operation, **extra) -> Response:
        epoch = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        snapshot = operation(epoch, **serializer.validated_data, **extra, user=request.user)
        # The worker has recorded the move: read its columns again, but not the user or the
        # start intent (a move changes neither) and without compiling a query per request.
        serializers.refresh_recorded(epoch)
        return Response(serializers.epoch_detail(epoch, snapshot))

    @action(detail=True, methods=["post"])
    def advance(self, request: Request, epoch_id: str) -> Response:
        """Move to another phase (validated update: 409 lists the violations)."""
        return self._move(request, services.advance_epoch)

    @action(detail=True, methods=["post"])
    def votes(self, request: Request, epoch_id: str) -> Response:
        """Vote ACCEPT or REVISE on one review axis (p4 and p10 only)."""
        return self._move(request, services.vote)

    @action(detail=True, methods=["post"])
    def blockers(self, request: Request, epoch_id: str) -> Response:
        """Open or resolve a review finding; open BLOCKERs hold p10 → p11."""
        return self._move(request, services.record_finding)

    @action(detail=True, methods=["post"])
    def slices(self, request: Request, epoch_id: str) -> Response:
        """Submit a worker slice (p8/p9); in p9 its SliceWorkflow starts at once."""
        return self._move(request, services.submit_slice)

    @action(detail=True, methods=["post"])
    def sessions(self, request: Request, epoch_id: str) -> Response:
        """Register an agent session (the first registration of an id wins)."""
        return self._move(request, services.register_session)

    def _end(self, request: Request, operation) -> Response:
        epoch = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data["reason"]
        operation(epoch, actor=user_actor(request.user), reason=reason)
        epoch.refresh_from_db(from_queryset=self.get_queryset())
        return Response(serializers.epoch_detail(epoch, None))

    @extend_schema(responses={200: serializers.EpochSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, epoch_id: str) -> Response:
        """Cancel the epoch (optional `reason`): its workflow, slices and review rounds stop and
        the record turns `cancelled`. Needs `epochs.cancel_epoch`; an ended epoch is a 409."""
        return self._end(request, services.cancel_epoch)

    @extend_schema(responses={200: serializers.EpochSerializer})
    @action(detail=True, methods=["post"])
    def terminate(self, request: Request, epoch_id: str) -> Response:
        """Terminate a stuck epoch at once (`reason` required): no cleanup runs, the record
        turns `failed` with the reason. Needs `epochs.terminate_epoch`; an ended epoch is a 409."""
        return self._end(request, services.terminate_epoch)

    @action(detail=True, methods=["get"])
    def history(self, request: Request, epoch_id: str) -> Response:
        """The transition history, refused attempts included, in order."""
        epoch = self.get_object()
        page = self.paginate_queryset(epoch.transitions.all())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @action(detail=True, methods=["get"], url_path="audit-events")
    def audit_events(self, request: Request, epoch_id: str) -> Response:
        """The epoch's audit events, oldest first."""
        epoch = self.get_object()
        events = AuditEvent.objects.for_subject(services.SUBJECT_KIND, epoch.epoch_id)
        page = self.paginate_queryset(events.order_by("seq"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def filter_queryset(self, queryset):
        # Filters, search and ordering apply to the list only, not to the detail actions.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)
