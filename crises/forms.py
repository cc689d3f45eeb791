"""The admin's trigger form: a target and an inline list of missions."""

from django import forms

from aura_site.validators import validate_identifier
from crises.validation import (
    MAX_FIELD_LENGTH,
    MAX_PHASES,
    MAX_PRIORITY,
    MAX_TARGET_LENGTH,
    MIN_TARGET_LENGTH,
)


class TriggerForm(forms.Form):
    target = forms.CharField(
        min_length=MIN_TARGET_LENGTH,
        max_length=MAX_TARGET_LENGTH,
        validators=[validate_identifier],
        help_text="e.g. target-alpha",
    )
    initiated_by = forms.CharField(
        max_length=MAX_TARGET_LENGTH,
        required=False,
        validators=[validate_identifier],
        help_text="Defaults to your user name.",
    )


class MissionForm(forms.Form):
    phase_id = forms.CharField(max_length=MAX_FIELD_LENGTH, validators=[validate_identifier])
    agent_id = forms.CharField(max_length=MAX_FIELD_LENGTH, validators=[validate_identifier])
    action = forms.CharField(max_length=MAX_FIELD_LENGTH, validators=[validate_identifier])
    target = forms.CharField(
        max_length=MAX_TARGET_LENGTH,
        required=False,
        validators=[validate_identifier],
        help_text="Blank: the crisis target.",
    )
    priority = forms.IntegerField(
        min_value=1, max_value=MAX_PRIORITY, required=False, help_text="Blank: row order."
    )


MissionFormSet = forms.formset_factory(
    MissionForm, extra=3, max_num=MAX_PHASES, absolute_max=MAX_PHASES, validate_max=True
)


def missions_from(formset, target: str) -> list[dict]:
    """Return the filled rows as missions, defaulting target and priority."""
    missions = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data:
            continue  # an untouched extra row
        missions.append(
            {
                "phase_id": data["phase_id"],
                "agent_id": data["agent_id"],
                "action": data["action"],
                "target": data.get("target") or target,
                "priority": data.get("priority") or len(missions) + 1,
            }
        )
    return missions
