"""Crisis ids and the missions the CLI and the agency client build."""

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from crises.models import Crisis
from crises.workflows import workflow_id_for


def id_safe(target: str) -> str:
    """Return `target` as it may appear in a crisis id (no '/', '..', spaces; ≤ 64 chars)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", target).strip("-_").lower()[:64].strip("-_")
    return safe or "target"


def base_crisis_id(target: str, now: datetime | None = None) -> str:
    """Return `crisis-<target>-<unix seconds>`."""
    return f"crisis-{id_safe(target)}-{int((now or timezone.now()).timestamp())}"


def free_crisis_id(base_id: str, *, taken: Callable[[str], bool] | None = None) -> str:
    """Return the first of `base_id`, `base_id-2`, `-3`, … that no record (nor `taken`) has.

    `taken` asks Temporal about a workflow id: it keeps closed workflows the records may no
    longer have (e.g. after a database restore). Called outside any transaction.
    """
    recorded = set(
        Crisis.objects.filter(crisis_id__startswith=base_id).values_list("crisis_id", flat=True)
    )
    for n in range(1, 10_000):
        crisis_id = base_id if n == 1 else f"{base_id}-{n}"
        if crisis_id in recorded or (taken is not None and taken(workflow_id_for(crisis_id))):
            continue
        return crisis_id
    raise AssertionError(f"no free crisis id for {base_id}")


def cli_missions(target: str, actions: Sequence[str]) -> list[dict[str, Any]]:
    """Return the CLI's missions: phase-<i>, agent-<action>-<iii>, priority i (1-based)."""
    return [
        {
            "phase_id": f"phase-{i}",
            "agent_id": f"agent-{action}-{i:03d}",
            "action": action,
            "target": target,
            "priority": i,
        }
        for i, action in enumerate(actions, start=1)
    ]


def with_agency_defaults(target: str, missions: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Fill missing mission keys as the agency client always has; unknown keys are dropped."""
    return [
        {
            "phase_id": mission.get("phase_id") or f"phase-{idx}",
            "agent_id": mission.get("agent_id") or "default-agent",
            "action": mission.get("action") or "deploy",
            "target": mission.get("target") or target,
            "priority": mission.get("priority", idx + 1),
        }
        for idx, mission in enumerate(missions)
    ]
