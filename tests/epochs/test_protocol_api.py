"""`/api/v1/protocol/constraints/`: the catalogue, and checking facts against it."""

import pytest
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from epochs.constraint_specs import CONSTRAINT_SPECS
from tests.fuzzing import CHECKS, schema

pytestmark = pytest.mark.django_db
CATALOGUE = "/api/v1/protocol/constraints/"
CHECK = "/api/v1/protocol/constraints/check/"


@pytest.fixture
def api(django_user_model) -> APIClient:
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("reader"))
    return client


def test_both_endpoints_need_authentication() -> None:
    client = APIClient()
    assert client.get(CATALOGUE).status_code == 401
    response = client.post(CHECK, {"titles": ["x"]}, format="json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_catalogue_lists_every_constraint_and_handoff(api: APIClient) -> None:
    body = api.get(CATALOGUE).json()
    assert [c["id"] for c in body["constraints"]] == list(CONSTRAINT_SPECS)
    binary = next(c for c in body["constraints"] if c["id"] == "C-review-binary")
    assert binary == {
        "id": "C-review-binary",
        "given": "a reviewer",
        "when": "voting",
        "then": "use ACCEPT or REVISE only",
        "should_not": "use APPROVE, APPROVE_WITH_COMMENTS, REQUEST_CHANGES, or REJECT",
        "command": None,
        "examples": [],
    }
    commit = next(c for c in body["constraints"] if c["id"] == "C-agent-commit")
    assert [e["label"] for e in commit["examples"]] == ["correct", "anti-pattern"]
    assert [h["id"] for h in body["handoffs"]] == ["h1", "h2", "h3", "h4", "h5", "h6"]
    assert body["handoffs"][0]["content_level"] == "full-provenance"
    assert body["handoffs"][0]["source_role"] == "architect"


def test_checking_titles(api: APIClient) -> None:
    response = api.post(CHECK, {"titles": ["git commit -m wip"]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert body["violations"][-1] == {
        "constraint_id": "C-agent-commit",
        "message": "Commit command 'git commit -m wip' uses 'git commit' but must use "
        "'git agent-commit -m ...' instead.",
        "context": {"command": "git commit -m wip"},
    }


def test_checking_structural_facts(api: APIClient) -> None:
    facts = {
        "parent_id": "t-1",
        "child_id": "t-1",
        "vote": "APPROVE",
        "leaf_task_ids": [],
        "slice_id": "s-1",
        "has_todos": True,
        "tests_pass": True,
        "typecheck_pass": False,
        "phase": "p8",
        "exploration_method": "direct",
        "review_cycle_count": 4,
    }
    body = api.post(CHECK, facts, format="json").json()
    assert [v["constraint_id"] for v in body["violations"]] == [
        "C-dep-direction",
        "C-review-binary",
        "C-slice-leaf-tasks",
        "C-supervisor-explore-ephemeral",
        "C-max-review-cycles",
        "C-worker-gates",
        "C-worker-gates",
    ]


def test_blank_values_are_checked_as_sent(api: APIClient) -> None:
    body = api.post(CHECK, {"parent_id": " ", "child_id": "c"}, format="json").json()
    assert body["violations"][0]["context"] == {"parent_id": " ", "child_id": "c"}


def test_clean_facts_give_no_violations(api: APIClient) -> None:
    body = api.post(CHECK, {"titles": [], "vote": "ACCEPT"}, format="json").json()
    assert body == {"violations": [], "count": 0}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "non_field_errors"),
        ({"parent": "a"}, "parent"),
        ({"tests_pass": "sometimes"}, "tests_pass"),
        ({"review_cycle_count": "many"}, "review_cycle_count"),
        ({"titles": "PROPOSAL-1: x"}, "titles"),
        ({"phase": "p13", "exploration_method": "x"}, "phase"),
        ({"owner_ids": [1, {"a": 2}]}, "owner_ids.1"),
    ],
)
def test_bad_arguments_are_a_400_problem(api: APIClient, payload: dict, field: str) -> None:
    response = api.post(CHECK, payload, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid") and body["status"] == 400
    assert field in body["errors"]


def test_a_body_without_a_media_type_is_a_documented_415(api: APIClient) -> None:
    # Found by fuzzing: a body DRF has no parser for is a 415 the schema must list.
    response = api.generic("POST", CHECK, b"\x0b\n\xb1\x03", content_type="")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    schema = api.get("/api/v1/schema/?format=json").json()
    assert "415" in schema["paths"][CHECK]["post"]["responses"]


def test_a_body_that_is_not_an_object_is_a_400(api: APIClient) -> None:
    response = api.post(CHECK, ["titles"], format="json")
    assert response.status_code == 400


protocol = schema.include(path_regex="^/api/v1/protocol/")


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_user("fuzzer", password="x")
    return Token.objects.create(user=user).key


# Through WSGI each request closes the connection at its end: a transactional test survives it.
@pytest.mark.django_db(transaction=True)
@protocol.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_protocol_endpoints_under_fuzzing(case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
