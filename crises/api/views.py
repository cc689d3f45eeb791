"""REST for crises: trigger, list, read, cancel and long-poll, all through crises.services."""

import functools
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict

from audit.services import user_actor
from aura_site.api.asyncviews import AsyncAPIView
from aura_site.api.lists import keyed_page
from aura_site.api.permissions import ActionPermissions
from aura_site.api.reasons import ReasonSerializer, RequiredReasonSerializer, reason_from
from aura_site.api.starts import IDEMPOTENCY_PARAMETER, idempotency_key, start_status
from aura_site.runs import outbox
from crises import services
from crises.api.filters import CrisisFilter
from crises.api.serializers import (
    CrisisSerializer,
    CrisisTriggerSerializer,
    crisis_list_renderer,
    crisis_renderer,
)
from crises.models import Crisis


class WaitQuery(serializers.Serializer):
    timeout = serializers.FloatField(
        min_value=0, max_value=services.MAX_WAIT_SECONDS, default=30, required=False
    )


def crisis_records() -> QuerySet[Crisis]:
    """Return the crises as the API shows them, with what their serializer reads."""
    return _crisis_records().all()


@functools.cache
def _crisis_records() -> QuerySet[Crisis]:
    """Built once per process: resolving the start annotation took ~0.3 ms per request (more
    on a busy event loop, where the long-poll builds it); a copy costs ~6 µs."""
    crises = Crisis.objects.select_related("initiated_by_user", "rerun_of", "schedule")
    return outbox.with_start(crises).prefetch_related("phases", "reruns")


def shown_crisis(pk: uuid.UUID) -> tuple[dict[str, Any], str]:
    """Return the crisis as `CrisisSerializer` shows it, and its status, from the list's
    compiled-once queries: the wait's answer builds no ORM query per request.

    Raises:
        NotFound: the crisis is gone (deleted while it was waited for).
    """
    for data in crisis_list_renderer().render([pk]):
        return data, data["status"]
    raise NotFound()


def crisis_data(crisis: Crisis, serializer: CrisisSerializer) -> ReturnDict:
    """Return `serializer.data` for a crisis whose phases and re-runs are held, rendered by
    fields built once (crisis_renderer); the serializer rides along, as DRF's data carries
    it, for the browsable API's forms."""
    return ReturnDict(crisis_renderer().render(crisis), serializer=serializer)


class CrisisViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Crisis responses. `{id}` is the crisis id or the workflow id."""

    serializer_class = CrisisSerializer
    filterset_class = CrisisFilter
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": ["crises.view_crisis"],
        "retrieve": ["crises.view_crisis"],
        "create": ["crises.add_crisis"],
        "cancel": ["crises.view_crisis", "crises.change_crisis"],
        "rerun": ["crises.view_crisis", "crises.add_crisis"],
        "terminate": ["crises.view_crisis", "crises.terminate_crisis"],
    }
    search_fields = ["crisis_id", "target", "initiated_by"]
    ordering_fields = ["started_at", "completed_at", "status", "target", "created_at"]
    ordering = ["-started_at"]
    lookup_field = "crisis_id"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return crisis_records()

    def list(self, request: Request, *args, **kwargs) -> Response:
        """The filtered, ordered page; its phases and re-runs read in one query each."""
        # Its rows from compiled-once queries. The docstring is the API's description.
        return keyed_page(self, Crisis, crisis_list_renderer().render)

    def get_object(self) -> Crisis:
        crisis = services.get_crisis(self.kwargs[self.lookup_field])
        self.check_object_permissions(self.request, crisis)
        return crisis

    def _render(self, crisis: Crisis, status_code: int = 200) -> Response:
        crisis = self.get_queryset().get(pk=crisis.pk)
        return Response(crisis_data(crisis, self.get_serializer(crisis)), status=status_code)

    def _render_started(self, outcome: services.Trigger, status_code: int) -> Response:
        """Answer a trigger or re-run: a crisis it created is shown as written, not read back."""
        if not outcome.created or outcome.intent is None:
            return self._render(outcome.record, status_code)
        crisis = outcome.record
        crisis.start_json = outbox.start_json(outcome.intent)
        return Response(crisis_data(crisis, self.get_serializer(crisis)), status=status_code)

    @extend_schema(
        request=CrisisTriggerSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: CrisisSerializer,
            202: OpenApiResponse(CrisisSerializer, "Recorded; waiting to start."),
            200: OpenApiResponse(CrisisSerializer, "A repeat: the first request's crisis."),
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Trigger a crisis; its workflow starts once the record is committed.

        When Temporal cannot take the start now, the answer is 202 and the crisis waits in
        `initiated` (`start.state` pending) until a worker's reconciler starts it.
        """
        trigger = CrisisTriggerSerializer(data=request.data)
        trigger.is_valid(raise_exception=True)
        data = trigger.validated_data
        outcome = services.trigger_crisis(
            target=data["target"],
            missions=data["missions"],
            initiated_by=data.get("initiated_by") or request.user.get_username(),
            user=request.user,
            actor=user_actor(request.user),
            idempotency_key=idempotency_key(request),
        )
        code = start_status(created=outcome.created, start=outcome.start, label="The crisis")
        return self._render_started(outcome, code)

    @extend_schema(
        request=ReasonSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: CrisisSerializer,
            202: OpenApiResponse(CrisisSerializer, "Recorded; waiting to start."),
            200: OpenApiResponse(CrisisSerializer, "A repeat: the first request's re-run."),
        },
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, *args, **kwargs) -> Response:
        """Re-run a crisis: a new crisis with the same target and missions, linked to this one.

        Answers like a trigger (201 started, 202 waiting to start, 200 a repeat with the same
        `Idempotency-Key`) with the new crisis; its `rerun_of` names this one.
        """
        original = self.get_object()
        outcome = services.rerun_crisis(
            original,
            user=request.user,
            actor=user_actor(request.user),
            reason=reason_from(request.data),
            idempotency_key=idempotency_key(request),
        )
        code = start_status(created=outcome.created, start=outcome.start, label="The re-run")
        return self._render_started(outcome, code)

    @extend_schema(request=ReasonSerializer, responses={202: CrisisSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args, **kwargs) -> Response:
        """Ask a running crisis to stop (optional `reason`); the record turns `cancelled` when
        it has. An ended crisis is a 409."""
        crisis = services.cancel_crisis(
            self.get_object(), actor=user_actor(request.user), reason=reason_from(request.data)
        )
        return self._render(crisis, status.HTTP_202_ACCEPTED)

    @extend_schema(request=RequiredReasonSerializer, responses={200: CrisisSerializer})
    @action(detail=True, methods=["post"])
    def terminate(self, request: Request, *args, **kwargs) -> Response:
        """Terminate a stuck crisis at once (`reason` required): no cleanup runs, the record
        closes as `failed` with the reason. Needs `crises.terminate_crisis`; an ended crisis
        is a 409."""
        crisis = services.terminate_crisis(
            self.get_object(),
            actor=user_actor(request.user),
            reason=reason_from(request.data, required=True),
        )
        return self._render(crisis)


WAIT_DESCRIPTION = (
    "Long-poll up to `timeout` (≤ 60) seconds: 200 once ended, else 202 with progress."
)


class CrisisWaitView(AsyncAPIView):
    """`GET /crises/{id}/wait/`: the long-poll, awaiting Temporal on the event loop.

    A view of its own because DRF's viewsets are sync: as an action it would hold a thread
    for the whole wait. Permissions and the wait throttle go by the action's name, as before.
    """

    action = "wait"
    permission_classes = [ActionPermissions]
    action_permissions = {"wait": ["crises.view_crisis"]}

    @extend_schema(
        operation_id="crises_wait_retrieve",
        description=WAIT_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "crisis_id", str, OpenApiParameter.PATH, required=True, pattern="^[^/]+$"
            ),
            WaitQuery,
        ],
        responses={200: CrisisSerializer, 202: CrisisSerializer},
    )
    async def get(self, request: Request, crisis_id: str) -> Response:
        """Return the crisis once it ended (200), or when `timeout` is up (202)."""
        query = WaitQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        crisis = await sync_to_async(self._crisis)(crisis_id)
        data, done = await services.await_crisis(
            crisis,
            timeout=query.validated_data["timeout"],
            user=request.user,
            read=shown_crisis,
        )
        return Response(data, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)

    def _crisis(self, reference: str) -> Crisis:
        crisis = services.get_crisis(reference)
        self.check_object_permissions(self.request, crisis)
        return crisis
