"""Epoch REST payloads: request validation (400 on malformed input) and response shapes."""

from functools import cache
from typing import Any

from rest_framework import serializers

from aura_site.api.fields import ChoiceField, LabelField, TextField, excerpt
from aura_site.api.rows import PreparedRows, RowRenderer
from aura_site.api.starts import StartField, start_data_from_text
from aura_site.runs import outbox
from epochs.inputs import EpochSnapshot
from epochs.interfaces import ModelId
from epochs.models import Epoch, EpochBlocker, EpochSession, EpochSlice, EpochTransition, EpochVote
from epochs.protocol import (
    PHASE_SPECS,
    ReviewAxis,
    RoleId,
    SeverityLevel,
    SliceMode,
    VoteType,
    parse_phase_id,
)

ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
ID_HELP = "Letters, digits and . _ : - (at most 200 characters)."


def _values(enum) -> list[str]:
    return [member.value for member in enum]


class PhaseField(serializers.CharField):
    """A phase in any spelling `parse_phase_id` accepts (p8, 8, impl-plan, p8-impl_plan)."""

    def to_internal_value(self, data: Any) -> str:
        # An excerpt is never a phase spelling when it differs from the value, and the error
        # message quotes what it is given.
        text = excerpt(super().to_internal_value(data))
        try:
            return parse_phase_id(text).value
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


# --- requests -------------------------------------------------------------------------------


class EpochStartSerializer(serializers.Serializer):
    epoch_id = serializers.RegexField(ID_REGEX, required=False, help_text=ID_HELP)
    request_description = TextField(max_length=10000)


class AdvanceSerializer(serializers.Serializer):
    to_phase = PhaseField(
        max_length=64, help_text="Target phase, e.g. p2, 2, elicit or p2-elicit."
    )
    triggered_by = LabelField(required=False, allow_blank=True, max_length=255)
    condition_met = TextField(required=False, allow_blank=True, max_length=2000)


class VoteSerializer(serializers.Serializer):
    axis = ChoiceField(choices=_values(ReviewAxis))
    vote = serializers.CharField(max_length=16, help_text="ACCEPT or REVISE (any case).")
    reviewer_id = LabelField(required=False, allow_blank=True, max_length=255)

    def validate_vote(self, value: str) -> str:
        if value.upper() not in _values(VoteType):
            raise serializers.ValidationError(
                f"{value!r} is not a valid vote: use ACCEPT or REVISE (C-review-binary)."
            )
        return value.upper()


class BlockerSerializer(serializers.Serializer):
    blocker_id = serializers.RegexField(ID_REGEX, help_text=ID_HELP)
    severity = ChoiceField(choices=_values(SeverityLevel), default=SeverityLevel.Blocker.value)
    resolved = serializers.BooleanField(default=False)
    description = TextField(required=False, allow_blank=True, max_length=10000)


class SliceSerializer(serializers.Serializer):
    slice_id = serializers.RegexField(ID_REGEX, help_text=ID_HELP)
    mode = ChoiceField(choices=_values(SliceMode), default=SliceMode.Mock.value)
    command = TextField(required=False, allow_blank=True, max_length=10000)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=86400, default=300)
    await_completion = serializers.BooleanField(
        default=False, help_text="Wait for `aura_msg signal complete` instead of finishing."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["mode"] != SliceMode.Mock and not attrs.get("command"):
            raise serializers.ValidationError({"command": ["A command slice needs a command."]})
        return attrs


class SessionSerializer(serializers.Serializer):
    session_id = serializers.RegexField(ID_REGEX, help_text=ID_HELP)
    role = ChoiceField(choices=_values(RoleId))
    model_harness = LabelField(required=False, allow_blank=True, max_length=100)
    model = LabelField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="`provider/model` (e.g. anthropic/claude-opus) or a bare model name.",
    )

    def validate_model(self, value: str) -> str:
        if "/" in value:
            try:
                ModelId.parse(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value


# --- responses ------------------------------------------------------------------------------


def phase_field() -> serializers.CharField:
    # A plain string in the schema: one phase enum under several field names would make
    # drf-spectacular warn (W001), and the values are documented on `to_phase`.
    return serializers.CharField(read_only=True, help_text="p1 … p12 or complete")


class EpochSerializer(serializers.ModelSerializer):
    current_phase = phase_field()
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    phase_name = serializers.SerializerMethodField()
    start = StartField("epoch_id", help_text="The workflow start: `pending` while it waits.")

    class Meta:
        model = Epoch
        fields = [
            "epoch_id",
            "request_description",
            "current_phase",
            "phase_name",
            "domain",
            "status",
            "start",
            "blocker_count",
            "last_error",
            "run_id",
            "started_by",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_phase_name(self, epoch: Epoch) -> str:
        return phase_name(epoch.current_phase)


def phase_name(phase: str) -> str:
    spec = PHASE_SPECS.get(phase)
    return spec.name if spec else "Complete"


class TransitionSerializer(serializers.ModelSerializer):
    from_phase = phase_field()
    to_phase = phase_field()

    class Meta:
        model = EpochTransition
        fields = [
            "index",
            "from_phase",
            "to_phase",
            "triggered_by",
            "actor",
            "condition_met",
            "success",
            "error",
            "occurred_at",
        ]
        read_only_fields = fields


class VoteRowSerializer(serializers.ModelSerializer):
    phase = phase_field()

    class Meta:
        model = EpochVote
        fields = [
            "sequence",
            "phase",
            "cycle",
            "axis",
            "vote",
            "reviewer_id",
            "actor",
            "recorded_at",
        ]
        read_only_fields = fields


class BlockerRowSerializer(serializers.ModelSerializer):
    phase = phase_field()

    class Meta:
        model = EpochBlocker
        fields = [
            "blocker_id",
            "severity",
            "description",
            "reported_by",
            "phase",
            "resolved",
            "created_at",
            "resolved_at",
        ]
        read_only_fields = fields


class SliceRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = EpochSlice
        fields = [
            "slice_id",
            "mode",
            "command",
            "status",
            "workflow_id",
            "output",
            "error",
            "submitted_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SessionRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = EpochSession
        fields = ["session_id", "role", "model_harness", "model", "registered_at"]
        read_only_fields = fields


def snapshot_data(snapshot: EpochSnapshot) -> dict[str, Any]:
    """Return the workflow's live view as JSON-ready data."""
    state = snapshot.state
    return {
        "current_phase": str(state.current_phase),
        "current_role": str(state.current_role),
        "completed_phases": sorted(str(p) for p in state.completed_phases),
        "votes": {str(axis): str(vote) for axis, vote in state.review_votes.items()},
        "blocker_count": state.blocker_count,
        "severity_groups": {
            str(level): sorted(ids) for level, ids in state.severity_groups.items()
        },
        "slices": {slice_id: str(status) for slice_id, status in state.slices.items()},
        "last_error": state.last_error,
        "available_transitions": [
            {"to_phase": str(t.to_phase), "condition": t.condition, "action": t.action}
            for t in snapshot.available_transitions
        ],
        "transition_count": len(state.transition_history),
        "review_rounds": [
            {
                "phase": str(r.phase),
                "cycle": r.cycle,
                "status": r.status,
                "workflow_id": r.workflow_id,
                "votes": {str(a): str(v) for a, v in r.votes.items()},
            }
            for r in snapshot.review_rounds
        ],
        "active_session_count": len(snapshot.sessions),
        "constraint_violations_total": snapshot.constraint_violations_total,
        "last_violations": [
            {"constraint_id": v.constraint_id, "message": v.message, "context": v.context}
            for v in snapshot.last_violations
        ],
        "run_count": snapshot.run_count,
    }


class RecordList:
    """One of an epoch's record lists: its serializer's columns, in one query compiled once."""

    def __init__(self, serializer_class: type[serializers.ModelSerializer], *order_by: str):
        self.renderer = RowRenderer(serializer_class)
        self.rows = PreparedRows(
            serializer_class.Meta.model, self.renderer.columns, key="epoch", order_by=order_by
        )

    def data(self, epoch: Epoch) -> list[dict[str, Any]]:
        return self.renderer.render_all(self.rows.fetch([epoch.pk]))


@cache
def record_lists() -> dict[str, RecordList]:
    """The detail's lists by key, in the models' order within one epoch (built on first use:
    the serializers' fields need the app registry)."""
    return {
        "votes": RecordList(VoteRowSerializer, "sequence"),
        "blockers": RecordList(BlockerRowSerializer, "created_at"),
        "slices": RecordList(SliceRowSerializer, "created_at"),
        "sessions": RecordList(SessionRowSerializer, "registered_at"),
    }


def epoch_detail(epoch: Epoch, snapshot: EpochSnapshot | None) -> dict[str, Any]:
    """Return an epoch's detail: its records, plus the live state while it runs."""
    data = EpochSerializer(epoch).data
    data["live"] = snapshot_data(snapshot) if snapshot is not None else None
    for key, records in record_lists().items():
        data[key] = records.data(epoch)
    return data


class EpochListRenderer:
    """A page of epochs as `EpochSerializer` renders it, from one compiled-once query of the
    columns it shows (no ORM query built per request, no instances), in plain dicts."""

    def __init__(self) -> None:
        self.renderer = RowRenderer(
            EpochSerializer,
            computed={
                "phase_name": lambda row: phase_name(row["current_phase"]),
                "start": lambda row: start_data_from_text(row["start_json"]),
                "started_by": lambda row: row["started_by__username"],
            },
            reads=("start_json", "started_by__username"),
        )
        self.rows = PreparedRows(
            Epoch,
            ("id", *self.renderer.columns),
            key="id",
            order_by=(),
            queryset=lambda: outbox.with_start(Epoch.objects.all(), "epoch_id"),
        )

    def render(self, keys: list[Any]) -> list[dict[str, Any]]:
        """Return the data of the epochs with these primary keys, in their order (an epoch
        deleted since the keys were read is left out)."""
        rows = {row[0]: row[1:] for row in self.rows.fetch(keys)}
        return [self.renderer.render(rows[key]) for key in keys if key in rows]


@cache
def epoch_list_renderer() -> EpochListRenderer:
    """Built on first use: the serializers' fields need the app registry."""
    return EpochListRenderer()


@cache
def _recorded_columns() -> PreparedRows:
    columns = [
        field.attname
        for field in Epoch._meta.concrete_fields
        if not field.primary_key and not field.is_relation
    ]
    return PreparedRows(Epoch, columns, key="id", order_by=())


def refresh_recorded(epoch: Epoch) -> None:
    """Read back what the worker records on the epoch's row (its phase, status, counts and
    times), keeping the user and start intent already read: one query compiled once."""
    rows = _recorded_columns()
    (values,) = rows.fetch([epoch.pk])
    for name, value in zip(rows.columns, values, strict=True):
        setattr(epoch, name, value)
