"""REST for crisis schedules: CRUD, pause, resume, trigger now and backfill, through the service
that keeps each row and its Temporal schedule in step (crises/services/schedules.py)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import user_actor
from aura_site.api.permissions import ActionPermissions
from crises.api.schedule_serializers import (
    BackfillResultSerializer,
    BackfillSerializer,
    CrisisScheduleDetailSerializer,
    CrisisScheduleSerializer,
)
from crises.models import CrisisSchedule
from crises.services import schedules


class CrisisScheduleViewSet(viewsets.ModelViewSet):
    """Recurring crises (drills). `{name}` is the schedule's name."""

    serializer_class = CrisisScheduleSerializer
    permission_classes = [ActionPermissions]
    # Acting on a schedule answers with it, so every action needs the view permission too;
    # pause, resume, trigger and backfill are changes.
    action_permissions = {
        "list": ["crises.view_crisisschedule"],
        "retrieve": ["crises.view_crisisschedule"],
        "create": ["crises.view_crisisschedule", "crises.add_crisisschedule"],
        **{
            action: ["crises.view_crisisschedule", "crises.change_crisisschedule"]
            for action in ("update", "partial_update", "pause", "resume", "trigger", "backfill")
        },
        "destroy": ["crises.view_crisisschedule", "crises.delete_crisisschedule"],
    }
    filterset_fields = ["paused", "sync_state", "target"]
    search_fields = ["name", "target"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name"]
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return CrisisSchedule.objects.select_related("created_by")

    def _detail(self, schedule: CrisisSchedule, status_code: int = status.HTTP_200_OK) -> Response:
        context = {
            **self.get_serializer_context(),
            "description": schedules.describe_schedule(schedule),
        }
        return Response(
            CrisisScheduleDetailSerializer(schedule, context=context).data, status=status_code
        )

    @extend_schema(responses=CrisisScheduleDetailSerializer)
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        """The schedule with its next firing times (from Temporal's description)."""
        return self._detail(self.get_object())

    def perform_create(self, serializer: CrisisScheduleSerializer) -> None:
        serializer.instance = schedules.create_schedule(
            user=self.request.user,
            actor=user_actor(self.request.user),
            **serializer.validated_data,
        )

    def perform_update(self, serializer: CrisisScheduleSerializer) -> None:
        serializer.instance = schedules.update_schedule(
            serializer.instance, actor=user_actor(self.request.user), **serializer.validated_data
        )

    def perform_destroy(self, instance: CrisisSchedule) -> None:
        schedules.delete_schedule(instance, actor=user_actor(self.request.user))

    @extend_schema(request=None, responses=CrisisScheduleDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, *args, **kwargs) -> Response:
        """Stop firing until resumed (Temporal's schedule is paused too)."""
        schedule = schedules.set_paused(self.get_object(), True, actor=user_actor(request.user))
        return self._detail(schedule)

    @extend_schema(request=None, responses=CrisisScheduleDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, *args, **kwargs) -> Response:
        """Fire again on the schedule's spec."""
        schedule = schedules.set_paused(self.get_object(), False, actor=user_actor(request.user))
        return self._detail(schedule)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(CrisisScheduleDetailSerializer, "Fired; the crisis follows.")
        },
    )
    @action(detail=True, methods=["post"])
    def trigger(self, request: Request, *args, **kwargs) -> Response:
        """Fire now, paused or not: one more crisis, marked with this schedule."""
        schedule = self.get_object()
        schedules.trigger_schedule(schedule, actor=user_actor(request.user))
        return self._detail(schedule, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=BackfillSerializer,
        responses={
            202: OpenApiResponse(BackfillResultSerializer, "Fired for each time in the window.")
        },
    )
    @action(detail=True, methods=["post"])
    def backfill(self, request: Request, *args, **kwargs) -> Response:
        """Fire for each time the schedule would have fired in a past window."""
        schedule = self.get_object()
        window = BackfillSerializer(data=request.data)
        window.is_valid(raise_exception=True)
        start, end = window.validated_data["start"], window.validated_data["end"]
        firings = schedules.backfill_schedule(
            schedule, start=start, end=end, actor=user_actor(request.user)
        )
        body = {"schedule": schedule.name, "start": start, "end": end, "firings": firings}
        return Response(BackfillResultSerializer(body).data, status=status.HTTP_202_ACCEPTED)
