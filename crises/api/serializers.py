"""The crisis record as JSON, and the trigger request."""

from collections import defaultdict
from datetime import UTC
from functools import cache
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aura_site.api.fields import LabelField
from aura_site.api.rows import InstanceRenderer, PreparedRows, RowRenderer
from aura_site.api.starts import StartField, start_data_from_text
from aura_site.runs import outbox
from crises import services
from crises.models import Crisis, CrisisPhase
from crises.services.presentation import summary_of, workflow_ui_url
from crises.validation import (
    MAX_FIELD_LENGTH,
    MAX_PHASES,
    MAX_PRIORITY,
    MAX_TARGET_LENGTH,
    MIN_TARGET_LENGTH,
)


class UTCDateTimeField(serializers.DateTimeField):
    """A timestamp in UTC with milliseconds and `Z` (2026-01-16T10:30:00.000Z)."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CrisisPhaseSerializer(serializers.ModelSerializer):
    started_at = UTCDateTimeField(read_only=True)
    finished_at = UTCDateTimeField(read_only=True)
    timestamp = UTCDateTimeField(read_only=True, help_text="When it finished, else started.")

    class Meta:
        model = CrisisPhase
        fields = [
            "phase_id",
            "status",
            "timestamp",
            "agent_id",
            "action",
            "target",
            "priority",
            "attempts",
            "error",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class SummarySerializer(serializers.Serializer):
    completed_phases = serializers.IntegerField()
    failed_phases = serializers.IntegerField()
    total_phases = serializers.IntegerField()


class CrisisSerializer(serializers.ModelSerializer):
    """A crisis record: the record file's keys first, then the workflow and audit ones."""

    started_at = UTCDateTimeField(read_only=True)
    completed_at = UTCDateTimeField(read_only=True)
    phases = CrisisPhaseSerializer(many=True, read_only=True)
    summary = serializers.SerializerMethodField()
    start = StartField(help_text="The workflow start: `pending` while it waits to start.")
    temporal_ui_url = serializers.SerializerMethodField()
    initiated_by_user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    schedule = serializers.SlugRelatedField(
        slug_field="name", read_only=True, help_text="The crisis schedule that fired it, if any."
    )
    cancel_requested_at = UTCDateTimeField(read_only=True)
    rerun_of = serializers.SlugRelatedField(
        slug_field="crisis_id", read_only=True, help_text="The crisis this one re-runs."
    )
    reruns = serializers.SlugRelatedField(
        slug_field="crisis_id", many=True, read_only=True, help_text="Its re-runs, by crisis id."
    )
    created_at = UTCDateTimeField(read_only=True)
    updated_at = UTCDateTimeField(read_only=True)

    class Meta:
        model = Crisis
        fields = [
            "crisis_id",
            "target",
            "status",
            "started_at",
            "completed_at",
            "phases",
            "summary",
            "start",
            "workflow_id",
            "temporal_ui_url",
            "initiated_by",
            "initiated_by_user",
            "error",
            "cancel_requested_by",
            "cancel_requested_at",
            "rerun_of",
            "reruns",
            "created_at",
            "updated_at",
            "schedule",
        ]
        read_only_fields = fields

    @staticmethod
    @extend_schema_field(SummarySerializer)
    def get_summary(crisis: Crisis) -> dict[str, int]:
        return services.summary(crisis)

    @staticmethod
    def get_temporal_ui_url(crisis: Crisis) -> str:
        return services.temporal_ui_url(crisis)


class CrisisListRenderer:
    """A page of crises as `CrisisSerializer` renders it, cheaper: the page's rows, phases and
    re-runs in one compiled-once query each (no ORM query built per request, no instances),
    rendered by the serializers' own fields into plain dicts."""

    def __init__(self) -> None:
        self.phase_renderer = RowRenderer(
            CrisisPhaseSerializer,
            derived={"timestamp": lambda row: row["finished_at"] or row["started_at"]},
        )
        self.phase_rows = PreparedRows(
            CrisisPhase,
            ("crisis_id", "status", *self.phase_renderer.columns),
            key="crisis",
            order_by=("crisis_id", "position"),
        )
        self.rerun_rows = PreparedRows(
            Crisis, ("rerun_of_id", "crisis_id"), key="rerun_of", order_by=Crisis._meta.ordering
        )
        self.crisis_renderer = RowRenderer(
            CrisisSerializer,
            computed={
                "phases": lambda row: row["page_phases"],
                "summary": lambda row: summary_of(row["page_phase_statuses"]),
                "start": lambda row: start_data_from_text(row["start_json"]),
                "temporal_ui_url": lambda row: workflow_ui_url(row["workflow_id"]),
                "initiated_by_user": lambda row: row["initiated_by_user__username"],
                "rerun_of": lambda row: row["rerun_of__crisis_id"],
                "reruns": lambda row: row["page_reruns"],
                "schedule": lambda row: row["schedule__name"],
            },
            reads=(
                "start_json",
                "workflow_id",
                "initiated_by_user__username",
                "rerun_of__crisis_id",
                "schedule__name",
            ),
        )
        self.crisis_rows = PreparedRows(
            Crisis,
            ("id", *self.crisis_renderer.columns),
            key="id",
            order_by=(),
            queryset=lambda: outbox.with_start(Crisis.objects.all()),
        )

    def render(self, keys: list[Any]) -> list[dict[str, Any]]:
        """Return the data of the crises with these primary keys, in their order (a crisis
        deleted since the keys were read is left out)."""
        rows = {row[0]: row[1:] for row in self.crisis_rows.fetch(keys)}
        phases: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        statuses: dict[Any, list[str]] = defaultdict(list)
        for crisis_pk, status, *row in self.phase_rows.fetch(keys):
            phases[crisis_pk].append(self.phase_renderer.render(row))
            statuses[crisis_pk].append(status)
        reruns: dict[Any, list[str]] = defaultdict(list)
        for rerun_of, crisis_id in self.rerun_rows.fetch(keys):
            reruns[rerun_of].append(crisis_id)
        render = self.crisis_renderer.render
        return [
            render(
                rows[key],
                {
                    "page_phases": phases[key],
                    "page_phase_statuses": statuses[key],
                    "page_reruns": reruns[key],
                },
            )
            for key in keys
            if key in rows
        ]


@cache
def crisis_renderer() -> InstanceRenderer:
    """`CrisisSerializer` for one crisis, its fields built once per process, not per answer.

    For a crisis read by `crisis_records()` or just created (its phases and re-runs held), so
    rendering queries nothing; tests/perf/test_rendering.py compares it with the serializer.
    """
    phase_renderer = InstanceRenderer(CrisisPhaseSerializer, {})
    return InstanceRenderer(
        CrisisSerializer,
        {
            "phases": lambda crisis: [phase_renderer.render(p) for p in crisis.phases.all()],
            "reruns": lambda crisis: [rerun.crisis_id for rerun in crisis.reruns.all()],
        },
    )


@cache
def crisis_list_renderer() -> CrisisListRenderer:
    """Built on first use: the serializers' fields need the app registry."""
    return CrisisListRenderer()


class MissionSerializer(serializers.Serializer):
    phase_id = LabelField(max_length=MAX_FIELD_LENGTH)
    agent_id = LabelField(max_length=MAX_FIELD_LENGTH)
    action = LabelField(max_length=MAX_FIELD_LENGTH)
    target = LabelField(max_length=MAX_TARGET_LENGTH)
    priority = serializers.IntegerField(min_value=1, max_value=MAX_PRIORITY, default=1)


class CrisisTriggerSerializer(serializers.Serializer):
    """What POST /crises/ takes: a target and its missions (the rules: crises/validation.py)."""

    target = LabelField(min_length=MIN_TARGET_LENGTH, max_length=MAX_TARGET_LENGTH)
    missions = MissionSerializer(many=True, help_text=f"1 to {MAX_PHASES} mission phases.")
    initiated_by = LabelField(
        max_length=MAX_TARGET_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Free text; defaults to the requesting user's name.",
    )

    def validate_missions(self, missions: list[dict]) -> list[dict]:
        # Checked here rather than by the list field, so the error names `missions` itself.
        if not missions:
            raise serializers.ValidationError("At least one mission is required.")
        if len(missions) > MAX_PHASES:
            raise serializers.ValidationError(
                f"Ensure this list has no more than {MAX_PHASES} missions."
            )
        seen: set[str] = set()
        errors: dict[int, dict[str, list[str]]] = {}
        for index, mission in enumerate(missions):
            if mission["phase_id"] in seen:
                errors[index] = {"phase_id": [f"Duplicate phase id {mission['phase_id']!r}."]}
            seen.add(mission["phase_id"])
        if errors:
            raise serializers.ValidationError(errors)
        return missions
