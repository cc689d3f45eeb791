"""Payloads of the protocol reference endpoints: the constraint catalogue and a check request.

Also what `aura_msg constraints` prints as JSON, so both surfaces render the catalogue alike.
"""

from typing import Any

from rest_framework import serializers

from epochs.catalogue import ContentLevel, ExampleLabel, ExampleLang
from epochs.protocol import PhaseId, RoleId
from epochs.structural_constraints import STRUCTURAL_ARGUMENTS, STRUCTURAL_CHECKS

# Bounds keep a check request small; the checks themselves take any size.
MAX_TEXT = 10000
MAX_ITEMS = 100
ROLES = ", ".join(role.value for role in RoleId)


class CodeExampleSerializer(serializers.Serializer):
    id = serializers.CharField()
    lang = serializers.ChoiceField(choices=[v.value for v in ExampleLang])
    label = serializers.ChoiceField(choices=[v.value for v in ExampleLabel])
    code = serializers.CharField()
    also_illustrates = serializers.CharField(allow_null=True)


class ConstraintSpecSerializer(serializers.Serializer):
    id = serializers.CharField()
    given = serializers.CharField()
    when = serializers.CharField()
    then = serializers.CharField()
    should_not = serializers.CharField()
    command = serializers.CharField(allow_null=True)
    examples = CodeExampleSerializer(many=True)


class HandoffSpecSerializer(serializers.Serializer):
    id = serializers.CharField()
    # Plain strings: the role enum already has its name in the schema (SessionSerializer).
    source_role = serializers.CharField(help_text=ROLES)
    target_role = serializers.CharField(help_text=ROLES)
    at_phase = serializers.CharField(help_text="p1 … p12")
    content_level = serializers.ChoiceField(choices=[v.value for v in ContentLevel])
    required_fields = serializers.ListField(child=serializers.CharField())


class CatalogueSerializer(serializers.Serializer):
    constraints = ConstraintSpecSerializer(many=True)
    handoffs = HandoffSpecSerializer(many=True)


class ViolationSerializer(serializers.Serializer):
    constraint_id = serializers.CharField()
    message = serializers.CharField()
    context = serializers.DictField(child=serializers.CharField())


class CheckResultSerializer(serializers.Serializer):
    violations = ViolationSerializer(many=True)
    count = serializers.IntegerField()


def _text() -> serializers.CharField:
    # Blank and padded values are exactly what some checks flag, so they are kept as sent.
    return serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT)


def _argument_field(name: str, kind: type) -> serializers.Field:
    users = ", ".join(c.constraint_id for c in STRUCTURAL_CHECKS if name in c.arguments)
    options: dict[str, Any] = {"required": False, "help_text": f"Checked by {users}."}
    if kind is bool:
        return serializers.BooleanField(**options)
    if kind is int:
        return serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1, **options)
    if kind is list:
        return serializers.ListField(child=_text(), max_length=MAX_ITEMS, **options)
    if name == "phase":
        return serializers.ChoiceField(choices=[p.value for p in PhaseId], **options)
    return serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT, **options
    )


class ConstraintCheckSerializer(serializers.Serializer):
    """Naming titles and/or `check_structural` arguments; at least one must be given."""

    titles = serializers.ListField(
        child=_text(),
        required=False,
        max_length=MAX_ITEMS,
        help_text="Task titles or commit commands for the four naming checks.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, kind in STRUCTURAL_ARGUMENTS.items():
            fields[name] = _argument_field(name, kind)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["No check takes this argument."] for name in unknown}
            )
        if not attrs:
            raise serializers.ValidationError(
                "Give `titles` and/or the arguments of at least one structural check."
            )
        return attrs
