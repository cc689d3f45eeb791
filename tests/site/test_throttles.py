"""Per-user rate limits on API writes and long-polls, and the admin's login lockout."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from crises.models import Crisis

pytestmark = pytest.mark.django_db

BAD_TRIGGER = {"target": "x", "missions": []}  # refused after the throttle counted it


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


def user_client(username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser(username, password="pw"))
    return client


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://aura.invalid/problems/throttled"
    assert body["status"] == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_writes_past_the_rate_are_429_with_retry_after(settings) -> None:
    settings.AURA_THROTTLE_WRITES = "3/min"
    api = user_client("busy")
    for _ in range(3):
        assert api.post("/api/v1/crises/", BAD_TRIGGER, format="json").status_code == 400
    assert_throttled(api.post("/api/v1/crises/", BAD_TRIGGER, format="json"))
    assert_throttled(api.post("/api/v1/epochs/", {"request_description": "x"}, format="json"))
    assert not Crisis.objects.exists()
    # Reads are not writes, and another user has a budget of its own.
    assert api.get("/api/v1/crises/").status_code == 200
    other = user_client("calm")
    assert other.post("/api/v1/crises/", BAD_TRIGGER, format="json").status_code == 400


def test_waits_past_the_rate_are_429(settings) -> None:
    settings.AURA_THROTTLE_WAITS = "2/min"
    api = user_client("poller")
    for _ in range(2):
        assert api.get("/api/v1/crises/nope/wait/?timeout=0").status_code == 404
    assert_throttled(api.get("/api/v1/crises/nope/wait/?timeout=0"))
    # Other reads are not long-polls.
    assert api.get("/api/v1/crises/nope/").status_code == 404


def test_a_rate_of_none_turns_a_throttle_off(settings) -> None:
    settings.AURA_THROTTLE_WRITES = None
    api = user_client("bulk")
    for _ in range(20):
        assert api.post("/api/v1/crises/", BAD_TRIGGER, format="json").status_code == 400


def test_bad_admin_logins_lock_the_user_out_from_that_address(admin_user, settings) -> None:
    login = "/admin/login/?next=/admin/"
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(login, {"username": "admin", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post(login, {"username": "admin", "password": "wrong"}).status_code == 429
    # Locked out: even the right password is refused now.
    response = client.post(login, {"username": "admin", "password": "password"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The lockout is per address: the same user logs in from elsewhere.
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    response = elsewhere.post(login, {"username": "admin", "password": "password"})
    assert response.status_code == 302 and "_auth_user_id" in elsewhere.session
