"""Queries per request (issue 14): exact counts, so an N+1 or a lost select_related fails here.

Every request authenticates with a token, as API clients do: one query for the token and its
user, then the permission checks. The counts cover the whole request, not only the view.
"""

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client as DjangoClient
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.services import record_event
from crises import services
from crises.models import Crisis
from tests.crises.conftest import SEED_ACTIONS
from tests.dashboard.conftest import crisis
from tests.dashboard.test_dashboard_scale import insert_history

PERMISSIONS = {
    "crises": ("add_crisis", "change_crisis", "view_crisis"),
    "epochs": ("view_epoch", "add_epoch", "advance_epoch"),
    "audit": ("view_auditevent",),
}


def token_client() -> APIClient:
    """Return an API client authenticating by token as a user with the operator permissions."""
    user = User.objects.create_user("operator", password="pw")
    for app, codenames in PERMISSIONS.items():
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label=app, codename__in=codenames)
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_crisis_trigger_wait_and_detail(worker_thread: str, django_assert_num_queries) -> None:
    api = token_client()
    body = {"target": "target-alpha", "missions": services.cli_missions("target-a", SEED_ACTIONS)}
    # Token and user, 2 permission queries, the ids taken, BEGIN, the crisis, its phases, its
    # audit event, its start intent, COMMIT, the start's outcome: the answer reads nothing back.
    with django_assert_num_queries(11):
        created = api.post("/api/v1/crises/", body, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/crises/{created.json()['crisis_id']}/"
    wait_until(
        lambda: Crisis.objects.get(crisis_id=created.json()["crisis_id"]).is_active is False
    )
    # Token and user, 2 permission queries, the crisis, then (ended: no wait slot) the crisis
    # as shown, its phases and re-runs: read once, not refreshed before and after.
    with django_assert_num_queries(7):
        waited = api.get(f"{url}wait/?timeout=5")
    assert waited.json()["status"] == "completed"
    with django_assert_num_queries(9):
        detail = api.get(url)
    assert len(detail.json()["phases"]) == 4


@pytest.mark.django_db
def test_crisis_list_page_of_20_with_phases(django_assert_num_queries) -> None:
    for i in range(25):
        crisis(
            f"crisis-q-{i}", "completed", started_ago=i + 1, ended_ago=i, phases=["completed"] * 3
        )
    api = token_client()
    # The token, the user's permissions (two), the count, the page's keys, then its rows,
    # phases and re-runs: none per crisis.
    with django_assert_num_queries(8):
        page = api.get("/api/v1/crises/?status=completed&ordering=-started_at&limit=20")
    assert len(page.json()["results"]) == 20
    assert all(len(row["phases"]) == 3 for row in page.json()["results"])


@pytest.mark.django_db(transaction=True)
def test_epoch_start_list_and_move(worker_thread: str, django_assert_num_queries) -> None:
    api = token_client()
    started = api.post("/api/v1/epochs/", {"request_description": "dark mode"}, format="json")
    assert started.status_code == 201, started.content
    epoch_id = started.json()["epoch_id"]
    api.post("/api/v1/epochs/", {"request_description": "light mode"}, format="json")
    # The token, the user's permissions (two), the count, the page's keys, then its rows.
    with django_assert_num_queries(6):
        listed = api.get("/api/v1/epochs/?status=running")
    assert len(listed.json()["results"]) == 2
    with django_assert_num_queries(10):
        moved = api.post(f"/api/v1/epochs/{epoch_id}/advance/", {"to_phase": "p2"}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["live"]["current_phase"] == "p2"


@pytest.mark.django_db
def test_audit_events_page(django_assert_num_queries) -> None:
    for i in range(30):
        record_event(
            subject_kind="crisis",
            subject_id=f"crisis-{i % 3}",
            event_type="phase_completed",
            actor="worker:1@h",
        )
    api = token_client()
    with django_assert_num_queries(4):
        page = api.get("/api/v1/audit-events/?subject_kind=crisis&limit=10")
    assert len(page.json()["results"]) == 10


@pytest.mark.django_db
def test_the_admin_dashboard(
    admin_client: DjangoClient, temporal_settings: Any, django_assert_num_queries
) -> None:
    insert_history()
    admin_client.get("/admin/")  # warm: the Temporal connection
    with django_assert_num_queries(17):
        response = admin_client.get("/admin/")
    assert response.status_code == 200
