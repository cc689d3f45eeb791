"""REST for crises: trigger, list, read, cancel and long-poll, all through crises.services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import user_actor
from aura_site.api.exceptions import TemporalDown
from aura_site.temporal import TemporalUnavailable
from crises import services
from crises.api.filters import CrisisFilter
from crises.api.serializers import CrisisSerializer, CrisisTriggerSerializer
from crises.exceptions import (
    CrisisNotActive,
    CrisisNotFound,
    IdempotencyKeyReused,
    InvalidCrisisRequest,
    WorkflowStartFailed,
)
from crises.models import Crisis

IDEMPOTENCY_HEADER = "Idempotency-Key"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The crisis is not in a state that allows this."
    default_code = "conflict"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The Idempotency-Key was used for a different request."
    default_code = "idempotency_key_reused"


class CrisisPermission(permissions.BasePermission):
    """Reading needs a login; triggering `crises.add_crisis`; cancelling `crises.change_crisis`."""

    required = {"create": "crises.add_crisis", "cancel": "crises.change_crisis"}

    def has_permission(self, request: Request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        perm = self.required.get(getattr(view, "action", ""))
        return perm is None or request.user.has_perm(perm)


class WaitQuery(serializers.Serializer):
    timeout = serializers.FloatField(
        min_value=0, max_value=services.MAX_WAIT_SECONDS, default=30, required=False
    )


class CrisisViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Crisis responses. `{id}` is the crisis id or the workflow id."""

    serializer_class = CrisisSerializer
    filterset_class = CrisisFilter
    permission_classes = [CrisisPermission]
    search_fields = ["crisis_id", "target", "initiated_by"]
    ordering_fields = ["started_at", "completed_at", "status", "target", "created_at"]
    ordering = ["-started_at"]
    lookup_field = "crisis_id"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return Crisis.objects.select_related("initiated_by_user").prefetch_related("phases")

    def get_object(self) -> Crisis:
        try:
            crisis = services.get_crisis(self.kwargs[self.lookup_field])
        except CrisisNotFound as exc:
            raise exceptions.NotFound(str(exc)) from exc
        self.check_object_permissions(self.request, crisis)
        return crisis

    def _render(self, crisis: Crisis, status_code: int = 200) -> Response:
        crisis = self.get_queryset().get(pk=crisis.pk)
        return Response(self.get_serializer(crisis).data, status=status_code)

    @extend_schema(
        request=CrisisTriggerSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="A repeat with the same key returns the same crisis (200).",
            )
        ],
        responses={201: CrisisSerializer, 200: CrisisSerializer},
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Trigger a crisis; its workflow starts once the record is committed."""
        trigger = CrisisTriggerSerializer(data=request.data)
        trigger.is_valid(raise_exception=True)
        data = trigger.validated_data
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or None
        if key and len(key) > 255:
            raise exceptions.ValidationError({IDEMPOTENCY_HEADER: ["At most 255 characters."]})
        try:
            outcome = services.trigger_crisis(
                target=data["target"],
                missions=data["missions"],
                initiated_by=data.get("initiated_by") or request.user.get_username(),
                user=request.user,
                actor=user_actor(request.user),
                idempotency_key=key,
            )
        except InvalidCrisisRequest as exc:
            raise exceptions.ValidationError(exc.errors) from exc
        except IdempotencyKeyReused as exc:
            raise IdempotencyConflict(str(exc)) from exc
        except WorkflowStartFailed as exc:
            raise TemporalDown() from exc
        return self._render(outcome.crisis, 201 if outcome.created else 200)

    @extend_schema(request=None, responses={202: CrisisSerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args, **kwargs) -> Response:
        """Ask a running crisis to stop; the record turns `cancelled` when it has."""
        crisis = self.get_object()
        try:
            crisis = services.cancel_crisis(crisis, actor=user_actor(request.user))
        except CrisisNotActive as exc:
            raise Conflict(str(exc)) from exc
        except TemporalUnavailable as exc:
            raise TemporalDown() from exc
        return self._render(crisis, status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[WaitQuery],
        responses={200: CrisisSerializer, 202: CrisisSerializer},
    )
    @action(detail=True, methods=["get"])
    def wait(self, request: Request, *args, **kwargs) -> Response:
        """Long-poll up to `timeout` (≤ 60) seconds: 200 once ended, else 202 with progress."""
        query = WaitQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        crisis, done = services.wait_for_crisis(
            self.get_object(), timeout=query.validated_data["timeout"]
        )
        return self._render(crisis, status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)
