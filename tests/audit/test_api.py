"""GET /api/v1/audit-events/: authenticated, filterable, cursor-paginated and read-only."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from audit.services import record_event
from tests.conftest import user_with

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events/"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
READ_ALL = ("audit.view_auditevent", "crises.view_crisis", "epochs.view_epoch")


@pytest.fixture
def events() -> list:
    rows = [
        ("crisis", "crisis-alpha-1", "crisis_triggered", "", "", "user:ann"),
        ("crisis", "crisis-alpha-1", "phase_completed", "phase-1", "agent", "worker:1@h"),
        ("epoch", "epoch-1", "phase_transition", "p2", "epoch", "worker:1@h"),
        ("epoch", "epoch-2", "vote_recorded", "p4", "reviewer", "user:bob"),
    ]
    return [
        record_event(
            subject_kind=kind,
            subject_id=subject,
            event_type=event_type,
            phase=phase,
            role=role,
            actor=actor,
            occurred_at=T0 + timedelta(hours=i),
        )
        for i, (kind, subject, event_type, phase, role, actor) in enumerate(rows)
    ]


@pytest.fixture
def api(django_user_model) -> APIClient:
    client = APIClient()
    client.force_authenticate(user_with("reader", *READ_ALL))
    return client


def subjects(response) -> list[str]:
    return [(row["subject_id"], row["event_type"]) for row in response.json()["results"]]


def test_anonymous_gets_401_problem_details(events: list) -> None:
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "type": "https://aura.invalid/problems/not-authenticated",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
    }


def test_token_authentication(events: list, django_user_model) -> None:
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user_with("bot", *READ_ALL))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(URL).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(URL).status_code == 401


def test_list_is_newest_first(api: APIClient, events: list) -> None:
    response = api.get(URL)
    assert response.status_code == 200
    assert [row["seq"] for row in response.json()["results"]] == [4, 3, 2, 1]
    first = response.json()["results"][-1]
    assert first["prev_hash"] == "0" * 64
    assert first["hash"] == events[0].hash
    assert first["occurred_at"] == "2026-11-01T12:00:00Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("subject=crisis:crisis-alpha-1", ["phase_completed", "crisis_triggered"]),
        ("subject=epoch", ["vote_recorded", "phase_transition"]),
        ("subject_kind=epoch&subject_id=epoch-2", ["vote_recorded"]),
        ("event_type=phase_transition", ["phase_transition"]),
        ("phase=phase-1", ["phase_completed"]),
        ("role=reviewer", ["vote_recorded"]),
        ("actor=worker:1@h", ["phase_transition", "phase_completed"]),
        (
            "occurred_after=2026-11-01T13:00:00Z",
            ["vote_recorded", "phase_transition", "phase_completed"],
        ),
        ("occurred_before=2026-11-01T13:00:00Z", ["crisis_triggered"]),
        (
            "occurred_after=2026-11-01T13:00:00Z&occurred_before=2026-11-01T15:00:00Z",
            ["phase_transition", "phase_completed"],
        ),
        ("search=bob", ["vote_recorded"]),
    ],
)
def test_filters(api: APIClient, events: list, query: str, expected: list[str]) -> None:
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert [row["event_type"] for row in response.json()["results"]] == expected


def test_bad_filter_value_is_a_400_problem(api: APIClient, events: list) -> None:
    response = api.get(f"{URL}?occurred_after=yesterday")
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid input"
    assert body["errors"] == {"occurred_after": ["Enter a valid date/time."]}
    assert body["detail"] == "occurred_after: Enter a valid date/time."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # +19:01 is a valid ISO offset but out of PostgreSQL's range: compared in UTC instead.
        (
            "occurred_after=2026-11-02T08:00:00%2B19:01",
            ["vote_recorded", "phase_transition", "phase_completed"],
        ),
        ("occurred_before=0001-01-01T00:00:00%2B01:00", None),
    ],
)
def test_time_filters_are_compared_in_utc(
    api: APIClient, events: list, query: str, expected: list[str] | None
) -> None:
    response = api.get(f"{URL}?{query}")
    if expected is None:
        assert response.status_code == 400
        assert response.json()["errors"] == {
            "occurred_before": ["Enter a date/time between the years 1 and 9999."]
        }
    else:
        assert response.status_code == 200
        assert [row["event_type"] for row in response.json()["results"]] == expected


def test_cursor_pagination(api: APIClient, events: list) -> None:
    page = api.get(f"{URL}?limit=3").json()
    assert [row["seq"] for row in page["results"]] == [4, 3, 2]
    assert page["previous"] is None
    rest = api.get(page["next"]).json()
    assert [row["seq"] for row in rest["results"]] == [1]
    assert rest["next"] is None


def test_detail(api: APIClient, events: list) -> None:
    response = api.get(f"{URL}{events[2].id}/")
    assert response.status_code == 200
    assert response.json()["subject_id"] == "epoch-1"


def test_unknown_event_is_a_404_problem(api: APIClient) -> None:
    response = api.get(f"{URL}00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_no_writes(api: APIClient, events: list, method: str) -> None:
    url = URL if method == "post" else f"{URL}{events[0].id}/"
    response = getattr(api, method)(url, {"event_type": "forged"})
    assert response.status_code == 405
    assert response.json()["status"] == 405
    assert response["Content-Type"] == "application/problem+json"


def test_unknown_api_path_is_a_404_problem(api: APIClient) -> None:
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No API endpoint at /api/v1/nothing-here/."


def reader(*permissions: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(user_with("limited", *permissions))
    return client


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        (("audit.view_auditevent", "crises.view_crisis"), {"crisis-alpha-1"}),
        (("audit.view_auditevent", "epochs.view_epoch"), {"epoch-1", "epoch-2"}),
        (READ_ALL, {"crisis-alpha-1", "epoch-1", "epoch-2"}),
        (("audit.view_auditevent",), set()),
    ],
)
def test_a_reader_sees_only_subjects_they_may_view(events: list, permissions, expected) -> None:
    client = reader(*permissions)
    listed = {row["subject_id"] for row in client.get(URL, {"limit": 50}).json()["results"]}
    assert listed == expected
    for event in events:
        detail = client.get(f"{URL}{event.pk}/")
        assert detail.status_code == (200 if event.subject_id in expected else 404)
    # Filters cannot widen what is visible.
    response = client.get(URL, {"subject_kind": "epoch"})
    assert {row["subject_id"] for row in response.json()["results"]} <= expected


@pytest.mark.parametrize("permissions", [(), ("crises.view_crisis", "epochs.view_epoch")])
def test_reading_the_trail_needs_the_audit_permission(events: list, permissions) -> None:
    client = reader(*permissions)
    for path in (URL, f"{URL}{events[0].pk}/", f"{URL}?subject_kind=epoch"):
        response = client.get(path)
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"


def test_unregistered_subject_kinds_are_for_superusers_only(
    events: list, django_user_model
) -> None:
    record_event(subject_kind="user", subject_id="ann", event_type="password_changed")
    client = reader(*READ_ALL)
    kinds = {row["subject_kind"] for row in client.get(URL, {"limit": 50}).json()["results"]}
    assert kinds == {"crisis", "epoch"}
    superuser = APIClient()
    superuser.force_authenticate(django_user_model.objects.create_superuser("root"))
    response = superuser.get(URL, {"subject_kind": "user"})
    assert [row["subject_id"] for row in response.json()["results"]] == ["ann"]
