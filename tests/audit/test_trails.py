"""Every AuditTrail backend keeps the aurad contract."""

from pathlib import Path

import pytest

from audit.events import AuditEvent, AuditTrail
from audit.models import AuditEvent as AuditRow
from audit.trails import (
    InMemoryAuditTrail,
    PostgresAuditTrail,
    SqliteAuditTrail,
    describe,
    make_audit_trail,
)

EVENTS = [
    AuditEvent("e1", "phase_transition", "p2", "epoch", {"from": "p1", "to": "p2"}),
    AuditEvent("e2", "vote_recorded", "p4", "reviewer", {"axis": "correctness"}),
    AuditEvent("e1", "phase_transition", "p3", "epoch", {"from": "p2", "to": "p3"}),
    AuditEvent("e1", "vote_recorded", "p4", "reviewer", {"nested": {"b": 1, "a": [1, 2]}}),
]

QUERIES = [
    ({}, [0, 1, 2, 3]),
    ({"epoch_id": "e1"}, [0, 2, 3]),
    ({"phase": "p4"}, [1, 3]),
    ({"role": "reviewer"}, [1, 3]),
    ({"epoch_id": "e1", "role": "reviewer"}, [3]),
    ({"epoch_id": "e1", "phase": "p2", "role": "epoch"}, [0]),
    ({"epoch_id": "nope"}, []),
]


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.django_db(transaction=True)),
    ]
)
def trail(request: pytest.FixtureRequest, tmp_path: Path) -> AuditTrail:
    if request.param == "memory":
        return InMemoryAuditTrail()
    if request.param == "sqlite":
        return SqliteAuditTrail(tmp_path / "nested" / "audit.db")
    return PostgresAuditTrail()


async def test_trails_satisfy_the_protocol(trail: AuditTrail) -> None:
    assert isinstance(trail, AuditTrail)


@pytest.mark.parametrize(("filters", "expected"), QUERIES)
async def test_query_events_filters_and_keeps_order(
    trail: AuditTrail, filters: dict, expected: list[int]
) -> None:
    if isinstance(trail, SqliteAuditTrail):
        await trail.ensure_schema()
    for event in EVENTS:
        await trail.record_event(event)

    assert await trail.query_events(**filters) == [EVENTS[i] for i in expected]


async def test_query_returns_a_new_list(trail: AuditTrail) -> None:
    if isinstance(trail, SqliteAuditTrail):
        await trail.ensure_schema()
    await trail.record_event(EVENTS[0])
    first = await trail.query_events()
    first.clear()
    assert await trail.query_events() == [EVENTS[0]]


async def test_sqlite_events_survive_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    first = SqliteAuditTrail(path)
    await first.ensure_schema()
    await first.record_event(EVENTS[0])
    await first.ensure_schema()  # idempotent

    assert await SqliteAuditTrail(path).query_events(epoch_id="e1") == [EVENTS[0]]


@pytest.mark.django_db(transaction=True)
async def test_postgres_trail_writes_chained_epoch_rows() -> None:
    trail = PostgresAuditTrail()
    await trail.record_event(EVENTS[0])
    await trail.record_event(EVENTS[2])

    rows = [row async for row in AuditRow.objects.order_by("seq")]
    assert [(r.subject_kind, r.subject_id, r.phase) for r in rows] == [
        ("epoch", "e1", "p2"),
        ("epoch", "e1", "p3"),
    ]
    assert rows[1].prev_hash == rows[0].hash
    assert rows[0].idempotency_key is None  # recorded outside an activity


@pytest.mark.parametrize(
    ("backend", "kind", "description"),
    [
        ("postgres", PostgresAuditTrail, "PostgresAuditTrail"),
        ("memory", InMemoryAuditTrail, "InMemoryAuditTrail"),
        ("sqlite:/tmp/x/audit.db", SqliteAuditTrail, "SqliteAuditTrail at /tmp/x/audit.db"),
    ],
)
def test_make_audit_trail(backend: str, kind: type, description: str) -> None:
    trail = make_audit_trail(backend)
    assert isinstance(trail, kind)
    assert describe(trail) == description


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (
            "redis",
            "unknown audit trail 'redis': choose one of postgres, memory, sqlite:<path>, temporal",
        ),
        ("sqlite:", "audit trail 'sqlite:' needs a path"),
        ("", "unknown audit trail ''"),
    ],
)
def test_make_audit_trail_rejects_unknown_backends(backend: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make_audit_trail(backend)
