"""REST /api/v1/crisis-schedules/ without Temporal: validation, permissions, and what a change
does while Temporal is down (recorded, `sync_state` error); fuzzed by schemathesis."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from crises.models import CrisisSchedule
from tests.conftest import free_port
from tests.fuzzing import CHECKS, schema

URL = "/api/v1/crisis-schedules/"
MISSION = {"phase_id": "p1", "agent_id": "a1", "action": "deploy", "target": "t"}
GOOD = {"name": "daily-drill", "target": "target-a", "missions": [MISSION], "cron": "@daily"}


@pytest.fixture(autouse=True)
def temporal_down(settings: Any) -> None:
    """Nothing listens where the app looks for Temporal."""
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"


def client_with(*codenames: str) -> APIClient:
    user = User.objects.create_user(f"user-{len(codenames)}-{'-'.join(codenames)}"[:150])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    api = APIClient()
    api.force_authenticate(User.objects.get(pk=user.pk))
    return api


@pytest.fixture
def admin_api(db) -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("root", password="pw"))
    return api


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "every day"}, "cron"),
        ({"cron": "* * * * 7"}, "cron"),
        ({"cron": ""}, "cron"),
        ({"cron": "@daily", "interval_seconds": 60}, "cron"),
        ({"cron": "", "interval_seconds": 0}, "interval_seconds"),
        ({"cron": "", "interval_seconds": 10**9}, "interval_seconds"),
        ({"cron": "", "interval_seconds": "often"}, "interval_seconds"),
        ({"name": "no spaces"}, "name"),
        ({"name": ""}, "name"),
        ({"target": "ab"}, "target"),
        ({"missions": []}, "missions"),
        ({"missions": [{"phase_id": "p1"}]}, "missions.0.agent_id"),
        ({"missions": [MISSION, MISSION]}, "missions.1.phase_id"),
        ({"missions": [{**MISSION, "priority": 0}]}, "missions.0.priority"),
    ],
)
def test_bad_schedules_are_400_problems_naming_the_field(admin_api, changes, field) -> None:
    response = admin_api.post(URL, {**GOOD, **changes}, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid") and field in body["errors"], body
    assert not CrisisSchedule.objects.exists() and not AuditEvent.objects.exists()


# Transactional: the Temporal side of a change runs once its row is committed.
@pytest.mark.django_db(transaction=True)
def test_a_schedule_made_while_temporal_is_down_is_recorded_and_waits_for_sync(admin_api):
    response = admin_api.post(URL, GOOD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sync_state"] == "error" and "cannot reach Temporal" in body["sync_error"]
    assert body["missions"] == [{**MISSION, "priority": 1}]
    event = AuditEvent.objects.get(subject_kind="crisis_schedule")
    assert (event.event_type, event.subject_id, event.actor) == (
        "schedule_created",
        "daily-drill",
        "user:root",
    )
    assert event.payload["cron"] == "@daily"
    detail = admin_api.get(f"{URL}daily-drill/").json()
    assert detail["next_run_times"] is None
    duplicate = admin_api.post(URL, GOOD, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]
    renamed = admin_api.patch(f"{URL}daily-drill/", {"name": "other"}, format="json")
    assert renamed.status_code == 400 and "name" in renamed.json()["errors"]
    paused = admin_api.post(f"{URL}daily-drill/pause/")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert paused.json()["sync_state"] == "error"
    assert admin_api.post(f"{URL}daily-drill/trigger/").status_code == 503


@pytest.mark.django_db(transaction=True)
def test_permissions_are_the_model_permissions(admin_api) -> None:
    admin_api.post(URL, GOOD, format="json")
    detail, pause = f"{URL}daily-drill/", f"{URL}daily-drill/pause/"
    assert APIClient().get(URL).status_code == 401
    nobody = client_with()
    assert nobody.get(URL).status_code == 403
    assert nobody.get(detail).status_code == 403
    viewer = client_with("view_crisisschedule")
    assert viewer.get(URL).json()["count"] == 1
    assert viewer.get(detail).status_code == 200
    assert viewer.post(URL, {**GOOD, "name": "mine"}, format="json").status_code == 403
    assert viewer.patch(detail, {"paused": True}, format="json").status_code == 403
    assert viewer.post(pause).status_code == 403
    assert viewer.post(f"{URL}daily-drill/trigger/").status_code == 403
    assert viewer.post(f"{URL}daily-drill/backfill/", {}, format="json").status_code == 403
    assert viewer.delete(detail).status_code == 403
    adder = client_with("view_crisisschedule", "add_crisisschedule")
    assert adder.post(URL, {**GOOD, "name": "mine"}, format="json").status_code == 201
    assert adder.post(pause).status_code == 403
    blind = client_with("change_crisisschedule", "delete_crisisschedule")
    assert blind.post(pause).status_code == 403
    assert blind.patch(detail, {"paused": True}, format="json").status_code == 403
    assert blind.delete(detail).status_code == 403
    changer = client_with("view_crisisschedule", "change_crisisschedule")
    assert changer.post(pause).status_code == 200
    assert changer.delete(detail).status_code == 403
    assert CrisisSchedule.objects.count() == 2


@pytest.mark.django_db
def test_backfill_windows_are_checked_before_temporal_is_asked(admin_api) -> None:
    admin_api.post(URL, {**GOOD, "cron": "* * * * *"}, format="json")
    backfill = f"{URL}daily-drill/backfill/"
    cases = [
        ({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}, "end"),
        ({"start": "2025-01-01T00:00:00Z", "end": "2025-06-01T00:00:00Z"}, "start"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T02:00:00Z"}, "start"),
        ({"start": "yesterday"}, "start"),
    ]
    for window, field in cases:
        response = admin_api.post(backfill, window, format="json")
        assert response.status_code == 400, (window, response.content)
        assert field in response.json()["errors"], (window, response.json())
    assert not AuditEvent.objects.filter(event_type="schedule_backfilled").exists()


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_superuser("fuzzer", password="x")
    return Token.objects.create(user=user).key


# Every method, with Temporal down: a change is recorded for a later sync, trigger and backfill
# answer 503; never a 5xx the schema does not list.
@pytest.mark.django_db(transaction=True)
@schema.include(path_regex="^/api/v1/crisis-schedules/").parametrize()
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_schedule_endpoints_under_fuzzing(case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
