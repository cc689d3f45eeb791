"""`Idempotency-Key` means the same on every start endpoint: per user, fingerprinted, race-free."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient
from temporalio.client import Client

from aura_site import temporal
from aura_site.runs.models import StartIntent
from crises.models import Crisis
from epochs.models import Epoch

MISSION = {"phase_id": "p1", "agent_id": "a1", "action": "recon", "target": "t"}
DOMAINS = {
    "crises": (
        "/api/v1/crises/",
        Crisis,
        "crisis_id",
        {"target": "target-k", "missions": [MISSION]},
        {"target": "target-other", "missions": [MISSION]},
    ),
    "epochs": (
        "/api/v1/epochs/",
        Epoch,
        "epoch_id",
        {"request_description": "the same request"},
        {"request_description": "another request"},
    ),
}


def client_for(username: str) -> APIClient:
    user, _ = User.objects.get_or_create(username=username, is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.django_db(transaction=True)
def test_keys_are_per_user_and_bound_to_the_request(
    domain: str, temporal_settings: Client, settings: Any, task_queue: str
) -> None:
    settings.CRISIS_TASK_QUEUE = settings.TEMPORAL_TASK_QUEUE = task_queue
    url, model, id_field, body, other_body = DOMAINS[domain]
    alice, bob = client_for("alice"), client_for("bob")
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-1"}

    first = alice.post(url, body, format="json", **headers)
    assert first.status_code == 201, first.json()
    replay = alice.post(url, body, format="json", **headers)
    assert replay.status_code == 200
    assert replay.json()[id_field] == first.json()[id_field]

    refused = alice.post(url, other_body, format="json", **headers)
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/idempotency-key-reused")
    assert model.objects.count() == 1 and StartIntent.objects.count() == 1

    theirs = bob.post(url, body, format="json", **headers)
    assert theirs.status_code == 201
    assert theirs.json()[id_field] != first.json()[id_field]
    assert model.objects.count() == 2 and StartIntent.objects.count() == 2


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_with_one_key_make_one_record_and_one_workflow(
    domain: str, temporal_settings: Client, settings: Any, task_queue: str
) -> None:
    settings.CRISIS_TASK_QUEUE = settings.TEMPORAL_TASK_QUEUE = task_queue
    url, model, id_field, body, _ = DOMAINS[domain]
    client_for("alice")

    def post(_: int) -> tuple[int, str]:
        try:
            answer = client_for("alice").post(
                url, body, format="json", HTTP_IDEMPOTENCY_KEY="race-key"
            )
            return answer.status_code, answer.json()[id_field]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(50)))
    codes = sorted(code for code, _ in answers)
    assert codes.count(201) == 1 and codes.count(200) == 49, codes
    assert len({record_id for _, record_id in answers}) == 1
    assert model.objects.count() == 1
    intent = StartIntent.objects.get()
    runs = temporal.run_sync(_runs(temporal_settings, intent.workflow_id))
    assert runs == [intent.run_id]


async def _runs(client: Client, workflow_id: str) -> list[str]:
    return [run.run_id async for run in client.list_workflows(f"WorkflowId = '{workflow_id}'")]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("key", ["k" * 256, "a\x00b", "bidi\u202ekey", "esc\x1b[31m"])
@pytest.mark.django_db
def test_a_bad_key_is_a_400_and_stores_nothing(domain: str, key: str) -> None:
    url, model, _, body, _ = DOMAINS[domain]
    answer = client_for("alice").post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in answer.json()["errors"]
    assert model.objects.count() == 0 and StartIntent.objects.count() == 0


@pytest.mark.django_db
def test_every_start_endpoint_documents_the_header(client: Any) -> None:
    schema = client.get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/crises/", "/api/v1/epochs/"):
        parameters = schema["paths"][path]["post"]["parameters"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)
        assert {"200", "201", "202", "415", "422"} <= set(
            schema["paths"][path]["post"]["responses"]
        )
