"""A crisis schedule as JSON, and the backfill request."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aura_site.api.fields import LabelField
from crises.api.serializers import MissionSerializer, UTCDateTimeField
from crises.models import CrisisSchedule
from crises.schedule_specs import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS
from crises.services import temporal_schedules
from crises.services.schedules import MAX_BACKFILL_FIRINGS
from crises.validation import MAX_PHASES, MAX_SCHEDULE_NAME_LENGTH, MAX_TARGET_LENGTH


class CrisisScheduleSerializer(serializers.ModelSerializer):
    """A recurring crisis: target and missions as a trigger takes them, plus when it fires.

    The rules of target and missions are a trigger's (crises/validation.py); the services
    check them, and the cron expression, once more.
    """

    name = serializers.SlugField(
        max_length=MAX_SCHEDULE_NAME_LENGTH,
        help_text="Letters, digits, - and _. Names the Temporal schedule; cannot change.",
    )
    target = LabelField(max_length=MAX_TARGET_LENGTH)
    missions = MissionSerializer(many=True, help_text=f"1 to {MAX_PHASES} mission phases.")
    cron = LabelField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Five fields in UTC (minute hour day-of-month month day-of-week), "
        "e.g. `0 9 * * mon-fri`, or @hourly, @daily, @weekly, @monthly, @yearly.",
    )
    interval_seconds = serializers.IntegerField(
        min_value=MIN_INTERVAL_SECONDS,
        max_value=MAX_INTERVAL_SECONDS,
        required=False,
        allow_null=True,
        help_text="Fire every N seconds instead of on a cron.",
    )
    temporal_schedule_id = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    synced_at = UTCDateTimeField(read_only=True)
    created_at = UTCDateTimeField(read_only=True)
    updated_at = UTCDateTimeField(read_only=True)

    class Meta:
        model = CrisisSchedule
        fields = [
            "name",
            "target",
            "missions",
            "cron",
            "interval_seconds",
            "paused",
            "sync_state",
            "sync_error",
            "synced_at",
            "temporal_schedule_id",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["sync_state", "sync_error"]

    @staticmethod
    def get_temporal_schedule_id(schedule: CrisisSchedule) -> str:
        return temporal_schedules.schedule_id(schedule.name)


@extend_schema_field(serializers.ListField(child=UTCDateTimeField(), allow_null=True))
class NextRunsField(serializers.Field):
    """The next firing times Temporal reports; null when Temporal cannot say."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, schedule: CrisisSchedule):
        description = self.context.get("description")
        if description is None:
            return None
        field = UTCDateTimeField()
        return [field.to_representation(when) for when in description.info.next_action_times]


class CrisisScheduleDetailSerializer(CrisisScheduleSerializer):
    """A crisis schedule with its next firing times, read from Temporal."""

    next_run_times = NextRunsField(
        help_text="The next firing times Temporal reports (null when Temporal cannot say)."
    )

    class Meta(CrisisScheduleSerializer.Meta):
        fields = [*CrisisScheduleSerializer.Meta.fields, "next_run_times"]


class BackfillSerializer(serializers.Serializer):
    """A past window to fire the schedule for, as if it had run then."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField(
        help_text=f"Not in the future; at most {MAX_BACKFILL_FIRINGS} firings in the window."
    )


class BackfillResultSerializer(serializers.Serializer):
    schedule = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    firings = serializers.IntegerField(help_text="How many crises the backfill fires.")
