"""Service-layer rules without Temporal: ids, validation, seed mappings."""

import datetime as dt

import pytest
from django.db import IntegrityError

from crises import services
from crises.exceptions import InvalidCrisisRequest
from crises.models import Crisis
from crises.validation import request_errors


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("target-alpha", "target-alpha"),
        ("../../etc/passwd", "etc-passwd"),
        ("Target Alpha/Bravo", "target-alpha-bravo"),
        ("///", "target"),
        ("x" * 300, "x" * 64),
    ],
)
def test_ids_are_id_safe(target, expected) -> None:
    now = dt.datetime(2026, 1, 16, 10, 30, tzinfo=dt.UTC)
    assert services.base_crisis_id(target, now) == f"crisis-{expected}-{int(now.timestamp())}"


@pytest.mark.django_db
def test_triggers_in_flight_in_one_process_hold_different_ids() -> None:
    # Concurrent triggers of one target in one second: each holds its own id while it records
    # it, instead of all racing for the first free one; a released id is free again.
    # An id whose recording failed is free again; one recorded stays known to the process
    # (a trigger that looked at the records before that commit must not take it).
    base = "crisis-target-alpha-18"
    with services.reserved_crisis_id(base) as first:
        with pytest.raises(IntegrityError), services.reserved_crisis_id(base) as second:
            assert (first, second) == (base, f"{base}-2")
            raise IntegrityError("another process recorded it first")
        assert services.free_crisis_id(base) == f"{base}-2"
        with services.reserved_crisis_id(base, spread=4) as spread:
            assert spread in {f"{base}-{n}" for n in range(2, 6)}
    assert services.free_crisis_id(base) not in {first, spread}


@pytest.mark.django_db
def test_triggers_in_the_same_second_never_collide(monkeypatch) -> None:
    # The origin's bug B3: two triggers for one target in one second got the same id.
    monkeypatch.setattr(
        services.starting, "base_crisis_id", lambda target: "crisis-target-alpha-17"
    )
    missions = services.cli_missions("target-alpha", ["recon"])
    ids = [
        services.record_crisis(target="target-alpha", missions=missions).record.crisis_id
        for _ in range(3)
    ]
    assert ids == [
        "crisis-target-alpha-17",
        "crisis-target-alpha-17-2",
        "crisis-target-alpha-17-3",
    ]
    assert Crisis.objects.get(crisis_id=ids[1]).workflow_id == "crisis-workflow-" + ids[1]


@pytest.mark.django_db
def test_lookup_by_either_id_and_invalid_requests_store_nothing() -> None:
    crisis = services.record_crisis(
        target="target-alpha", missions=services.cli_missions("target-alpha", ["recon"])
    ).record
    assert services.get_crisis(crisis.workflow_id) == services.get_crisis(crisis.crisis_id)
    with pytest.raises(InvalidCrisisRequest):
        services.record_crisis(target="target-b", missions=[{"phase_id": "p"}])
    assert Crisis.objects.count() == 1


def test_seed_mappings() -> None:
    assert services.cli_missions("t-a", ["recon", "secure"])[1] == {
        "phase_id": "phase-2",
        "agent_id": "agent-secure-002",
        "action": "secure",
        "target": "t-a",
        "priority": 2,
    }
    assert services.with_agency_defaults(
        "t-a", [{"extra": 1}, {"phase_id": "x", "priority": 7}]
    ) == [
        {
            "phase_id": "phase-0",
            "agent_id": "default-agent",
            "action": "deploy",
            "target": "t-a",
            "priority": 1,
        },
        {
            "phase_id": "x",
            "agent_id": "default-agent",
            "action": "deploy",
            "target": "t-a",
            "priority": 7,
        },
    ]


def test_validation_messages_name_the_field() -> None:
    assert request_errors("ab", [{}]) == {
        "target": ["Ensure this field has at least 3 characters."],
        "missions.0.phase_id": ["This field is required."],
        "missions.0.agent_id": ["This field is required."],
        "missions.0.action": ["This field is required."],
        "missions.0.target": ["This field is required."],
    }
    assert request_errors("abc", "nope") == {"missions": ["Must be a list of missions."]}
    mission = {"phase_id": "p", "agent_id": "a", "action": "x", "target": "t"}
    assert request_errors("abc", [{**mission, "priority": True}]) == {
        "missions.0.priority": ["Must be a positive integer."]
    }
    assert request_errors("abc", [mission] * 101) == {
        "missions": ["Ensure this list has no more than 100 missions."]
    }
