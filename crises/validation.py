"""The rules a crisis request must meet, shared by every edge and `validate_crisis_request`.

Django-free and pure: plain JSON-like values in, field → messages out (empty when valid).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from aura_site.text import identifier_error

MIN_TARGET_LENGTH = 3
MAX_TARGET_LENGTH = 200
MAX_FIELD_LENGTH = 100  # phase_id, agent_id, action
MAX_PHASES = 100
MAX_PRIORITY = 1_000_000
MAX_SCHEDULE_NAME_LENGTH = 100
MISSION_FIELDS = ("phase_id", "agent_id", "action", "target")
_LIMITS = {"phase_id": MAX_FIELD_LENGTH, "agent_id": MAX_FIELD_LENGTH, "action": MAX_FIELD_LENGTH}


def _string_error(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return "Must be a string."
    if not value.strip():
        return "This field may not be blank."
    if len(value) > limit:
        return f"Ensure this field has no more than {limit} characters."
    return identifier_error(value)


def _mission_errors(mission: Any) -> dict[str, list[str]]:
    if not isinstance(mission, Mapping):
        return {"": ["Each mission must be an object."]}
    errors: dict[str, list[str]] = {}
    for name in MISSION_FIELDS:
        if name not in mission or mission[name] is None:
            errors[name] = ["This field is required."]
            continue
        message = _string_error(mission[name], _LIMITS.get(name, MAX_TARGET_LENGTH))
        if message:
            errors[name] = [message]
    priority = mission.get("priority", 1)
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        errors["priority"] = ["Must be a positive integer."]
    elif priority > MAX_PRIORITY:
        errors["priority"] = [f"Ensure this value is less than or equal to {MAX_PRIORITY}."]
    return errors


def request_errors(target: Any, missions: Any) -> dict[str, list[str]]:
    """Return what is wrong with a crisis request, keyed by field (`missions.2.priority`)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(target, str):
        errors["target"] = ["Must be a string."]
    elif len(target.strip()) < MIN_TARGET_LENGTH:
        errors["target"] = [f"Ensure this field has at least {MIN_TARGET_LENGTH} characters."]
    elif len(target) > MAX_TARGET_LENGTH:
        errors["target"] = [f"Ensure this field has no more than {MAX_TARGET_LENGTH} characters."]
    elif message := identifier_error(target):
        errors["target"] = [message]

    if not isinstance(missions, Sequence) or isinstance(missions, str | bytes):
        errors["missions"] = ["Must be a list of missions."]
        return errors
    if not missions:
        errors["missions"] = ["At least one mission is required."]
        return errors
    if len(missions) > MAX_PHASES:
        errors["missions"] = [f"Ensure this list has no more than {MAX_PHASES} missions."]
        return errors
    seen: set[str] = set()
    for index, mission in enumerate(missions):
        for name, messages in _mission_errors(mission).items():
            errors[f"missions.{index}.{name}" if name else f"missions.{index}"] = messages
        phase_id = mission.get("phase_id") if isinstance(mission, Mapping) else None
        if isinstance(phase_id, str) and phase_id:
            if phase_id in seen:
                errors.setdefault(f"missions.{index}.phase_id", []).append(
                    f"Duplicate phase id {phase_id!r}."
                )
            seen.add(phase_id)
    return errors
