"""Crisis ids and the missions the CLI and the agency client build."""

import itertools
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.utils import timezone

from crises.models import Crisis


def id_safe(target: str) -> str:
    """Return `target` as it may appear in a crisis id (no '/', '..', spaces; ≤ 64 chars)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", target).strip("-_").lower()[:64].strip("-_")
    return safe or "target"


def base_crisis_id(target: str, now: datetime | None = None) -> str:
    """Return `crisis-<target>-<unix seconds>`."""
    return f"crisis-{id_safe(target)}-{int((now or timezone.now()).timestamp())}"


# Crisis ids this process is recording right now, and those it recorded lately, oldest first
# with when (`reserved_crisis_id`).
_reserved: set[str] = set()
_recorded: OrderedDict[str, float] = OrderedDict()
RECORDED_MEMORY_SECONDS = 10.0
_reserving = threading.Lock()


def _candidates(base_id: str) -> Iterator[str]:
    yield base_id
    for n in range(2, 10_000):
        yield f"{base_id}-{n}"


def _pick(base_id: str, spread: int) -> str:
    """Reserve a free id and return it."""
    recorded = set(
        Crisis.objects.filter(crisis_id__startswith=base_id).values_list("crisis_id", flat=True)
    )
    with _reserving:
        # Looked up in each, not in their union: _recorded holds every id of the last seconds.
        free = (
            c
            for c in _candidates(base_id)
            if c not in recorded and c not in _reserved and c not in _recorded
        )
        choices = list(itertools.islice(free, spread))
        if not choices:
            raise AssertionError(f"no free crisis id for {base_id}")
        crisis_id = random.choice(choices)
        _reserved.add(crisis_id)
    return crisis_id


def _release(crisis_id: str) -> None:
    with _reserving:
        _reserved.discard(crisis_id)


@contextmanager
def reserved_crisis_id(base_id: str, *, spread: int = 1) -> Iterator[str]:
    """Yield the first of `base_id`, `base_id-2`, `-3`, … that no record has and no other
    trigger of this process holds; hold it while the block records it.

    Triggers of one target within one second share `base_id`: without the hold, n at once
    all pick the same id, one wins the unique index and the rest look again (n² tries). An id
    recorded here stays known to this process for RECORDED_MEMORY_SECONDS, so a trigger that
    looked at the records before that commit does not pick it. Triggers in other processes
    may still pick the same id: the unique index decides, and the loser looks again with a
    larger `spread`: it then takes one of the first `spread` free ids at random, so two
    processes' triggers stop taking the same ones in step.
    Temporal is not asked (that cost an RPC per trigger): the id carries the current second,
    so only a clock set back can pick the id of a workflow the records lost (say, after a
    database restore). Temporal then refuses the start, and the crisis fails saying so.
    """
    crisis_id = _pick(base_id, spread)
    try:
        yield crisis_id
    except BaseException:
        _release(crisis_id)
        raise
    now = time.monotonic()
    with _reserving:
        _reserved.discard(crisis_id)
        _recorded[crisis_id] = now
        while next(iter(_recorded.values())) < now - RECORDED_MEMORY_SECONDS:
            _recorded.popitem(last=False)


def free_crisis_id(base_id: str) -> str:
    """Return the first of `base_id`, `base_id-2`, `-3`, … that no record has."""
    crisis_id = _pick(base_id, 1)
    _release(crisis_id)
    return crisis_id


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
