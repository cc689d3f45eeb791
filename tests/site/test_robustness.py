"""Hostile and careless input on every write endpoint: a 4xx problem, never a 5xx, nothing stored.

Every request here fails validation before the services reach Temporal, so no server is needed.
"""

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from aura_site.api.fields import ECHO_LIMIT
from aura_site.api.parsers import MAX_DEPTH
from crises.forms import TriggerForm
from crises.models import Crisis, CrisisPhase, CrisisSchedule
from crises.validation import request_errors
from epochs.admin import StartEpochForm
from epochs.models import (
    Epoch,
    EpochBlocker,
    EpochSession,
    EpochSlice,
    EpochTransition,
    EpochVote,
)

pytestmark = pytest.mark.django_db

MISSION = {"phase_id": "p1", "agent_id": "a1", "action": "deploy", "target": "t"}
EPOCH = "/api/v1/epochs/epoch-a/"
# Each write endpoint with a body it accepts; the tests spoil one thing at a time.
WRITES: dict[str, tuple[str, dict[str, Any]]] = {
    "crisis-trigger": ("/api/v1/crises/", {"target": "target-a", "missions": [MISSION]}),
    "crisis-schedule": (
        "/api/v1/crisis-schedules/",
        {"name": "drill-a", "target": "target-a", "missions": [MISSION], "cron": "@daily"},
    ),
    "epoch-start": ("/api/v1/epochs/", {"epoch_id": "e-new", "request_description": "login"}),
    "epoch-advance": (f"{EPOCH}advance/", {"to_phase": "p2", "condition_met": "ok"}),
    "epoch-vote": (f"{EPOCH}votes/", {"axis": "elegance", "vote": "ACCEPT"}),
    "epoch-blocker": (f"{EPOCH}blockers/", {"blocker_id": "b1", "severity": "MINOR"}),
    "epoch-slice": (f"{EPOCH}slices/", {"slice_id": "s1", "mode": "mock"}),
    "epoch-session": (f"{EPOCH}sessions/", {"session_id": "x1", "role": "worker"}),
}
# Every string or choice field of each body; `missions.0.x` is a field of the first mission.
FIELDS = {
    "crisis-trigger": [
        "target",
        "initiated_by",
        "missions.0.phase_id",
        "missions.0.agent_id",
        "missions.0.action",
        "missions.0.target",
    ],
    "crisis-schedule": ["name", "target", "cron", "missions.0.phase_id", "missions.0.target"],
    "epoch-start": ["epoch_id", "request_description"],
    "epoch-advance": ["to_phase", "triggered_by", "condition_met"],
    "epoch-vote": ["axis", "vote", "reviewer_id"],
    "epoch-blocker": ["blocker_id", "severity", "description"],
    "epoch-slice": ["slice_id", "mode", "command"],
    "epoch-session": ["session_id", "role", "model_harness", "model"],
}
IDENTIFIERS = {
    "crisis-trigger": FIELDS["crisis-trigger"],
    "crisis-schedule": FIELDS["crisis-schedule"],
    "epoch-start": ["epoch_id"],
    "epoch-advance": ["triggered_by"],
    "epoch-vote": ["reviewer_id"],
    "epoch-blocker": ["blocker_id"],
    "epoch-slice": ["slice_id"],
    "epoch-session": ["session_id", "model_harness", "model"],
}
FREE_TEXT = {
    "epoch-start": ["request_description"],
    "epoch-advance": ["condition_met"],
    "epoch-blocker": ["description"],
    "epoch-slice": ["command"],
}
MODELS = [
    Crisis,
    CrisisPhase,
    CrisisSchedule,
    Epoch,
    EpochTransition,
    EpochVote,
    EpochBlocker,
    EpochSlice,
    EpochSession,
    AuditEvent,
]


def every(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(endpoint, field) for endpoint, fields in table.items() for field in fields]


def with_value(endpoint: str, field: str, value: Any) -> dict[str, Any]:
    """Return the endpoint's good body with `field` set to `value`."""
    body = json.loads(json.dumps(WRITES[endpoint][1]))
    if field.startswith("missions.0."):
        body["missions"][0][field.removeprefix("missions.0.")] = value
    else:
        body[field] = value
    return body


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def assert_problem(response, status: int, problem_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and {"type", "title", "detail"} <= body.keys()
    if problem_type:
        assert body["type"] == f"https://aura.invalid/problems/{problem_type}", body
    assert b"Traceback" not in response.content
    return body


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root", password="pw")


@pytest.fixture
def api(superuser: User) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(superuser)
    return client


@pytest.fixture
def before(superuser: User) -> dict[str, int]:
    """The record and audit counts once the epoch the move endpoints address exists."""
    Epoch.objects.create(epoch_id="epoch-a", request_description="add login", current_phase="p1")
    return counts()


def post_raw(api: APIClient, endpoint: str, text: str | bytes, **extra: Any):
    content_type = extra.pop("content_type", "application/json")
    return api.generic("POST", WRITES[endpoint][0], text, content_type=content_type, **extra)


ENDPOINTS = list(WRITES)


# --- (2) bodies the parser or Django refuses ------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_deeply_nested_json_is_400(api, before, endpoint: str, levels: int) -> None:
    response = post_raw(api, endpoint, "[" * levels + "]" * levels)
    body = assert_problem(response, 400, "parse-error")
    assert f"nested deeper than {MAX_DEPTH} levels" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_nesting_limit_is_exact(api, before, endpoint: str) -> None:
    field = FIELDS[endpoint][0].removeprefix("missions.0.")

    def nested(levels: int) -> str:
        # The body object is the first level, the field's lists the rest.
        inner = "[" * (levels - 1) + "]" * (levels - 1)
        return f'{{"{field}": {inner}}}'

    assert_problem(post_raw(api, endpoint, nested(MAX_DEPTH + 1)), 400, "parse-error")
    # At the limit the parser accepts the document and the serializer judges the field.
    assert_problem(post_raw(api, endpoint, nested(MAX_DEPTH)), 400, "invalid")
    assert counts() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_over_the_upload_limit_is_413(api, before, endpoint: str, settings) -> None:
    body = with_value(endpoint, FIELDS[endpoint][0], "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    problem = assert_problem(post_raw(api, endpoint, json.dumps(body)), 413, "too-large")
    assert problem["detail"] == (
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )
    assert counts() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_huge_content_length_is_413(api, before, endpoint: str) -> None:
    response = post_raw(api, endpoint, "{}", CONTENT_LENGTH="100000000")
    assert_problem(response, 413, "too-large")
    assert counts() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_form_with_too_many_fields_is_413(api, before, endpoint: str, settings) -> None:
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    form = "&".join(f"f{i}=1" for i in range(fields))
    response = post_raw(api, endpoint, form, content_type="application/x-www-form-urlencoded")
    body = assert_problem(response, 413, "too-large")
    assert "DATA_UPLOAD" not in body["detail"]
    assert counts() == before


@pytest.mark.parametrize(("endpoint", "field"), every(FIELDS))
def test_an_unpaired_surrogate_is_400(api, before, endpoint: str, field: str) -> None:
    text = json.dumps(with_value(endpoint, field, "ok\ud800"))  # sent as the escape \ud800
    assert "\\ud800" in text
    body = assert_problem(post_raw(api, endpoint, text), 400, "parse-error")
    assert "unpaired surrogate" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_unpaired_surrogate_in_a_key_is_400(api, before, endpoint: str) -> None:
    body = {**WRITES[endpoint][1], "\udfff": 1}
    assert_problem(post_raw(api, endpoint, json.dumps(body)), 400, "parse-error")
    assert counts() == before


def test_a_paired_surrogate_is_an_ordinary_character(api, before) -> None:
    # "\ud83d\ude80" is one character (U+1F680): the parser lets it through to the serializer.
    text = json.dumps(with_value("epoch-vote", "axis", "\U0001f680"))
    assert "\\ud83d\\ude80" in text
    body = assert_problem(post_raw(api, "epoch-vote", text), 400, "invalid")
    assert body["errors"]["axis"] == ['"\U0001f680" is not a valid choice.']


# --- (7) wrong values are echoed briefly ----------------------------------------------------


@pytest.mark.parametrize(("endpoint", "field"), every(FIELDS))
def test_a_megabyte_value_gets_a_short_answer(api, before, endpoint: str, field: str) -> None:
    body = with_value(endpoint, field, "Z" * 1_000_000)
    response = post_raw(api, endpoint, json.dumps(body))
    problem = assert_problem(response, 400, "invalid")
    assert len(response.content) < 2_000, problem
    assert "Z" * (ECHO_LIMIT + 1) not in response.content.decode()


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [("epoch-vote", "axis"), ("epoch-blocker", "severity"), ("epoch-slice", "mode")]
    + [("epoch-session", "role")],
)
def test_an_invalid_choice_names_a_prefix_of_the_value(api, before, endpoint, field) -> None:
    body = with_value(endpoint, field, "bad-" + "Z" * 100)
    problem = assert_problem(post_raw(api, endpoint, json.dumps(body)), 400, "invalid")
    assert problem["errors"][field] == [f'"bad-{"Z" * (ECHO_LIMIT - 4)}…" is not a valid choice.']


# --- (8) control characters, ANSI escapes and bidi overrides --------------------------------

UNSAFE_IN_IDENTIFIERS = {
    "ansi": "red\x1b[31m-alert",
    "bell": "ring\x07ring",
    "newline": "two\nlines",
    "tab": "tab\there",
    "c1-csi": "csi\x9b31m",
    "rlo": "abc\u202egpj.exe",
    "lre": "abc\u202adef",
    "isolate": "abc\u2066def\u2069",
    "delete": "del\x7fete",
}
UNSAFE_IN_TEXT = {
    "ansi": "clear\x1b[2J screen",
    "bell": "ring\x07ring",
    "backspace": "over\x08write",
    "c1-csi": "csi\x9b31m",
}


@pytest.mark.parametrize("value", UNSAFE_IN_IDENTIFIERS.values(), ids=UNSAFE_IN_IDENTIFIERS)
@pytest.mark.parametrize(("endpoint", "field"), every(IDENTIFIERS))
def test_control_and_bidi_characters_are_refused_in_identifiers(
    api, before, endpoint: str, field: str, value: str
) -> None:
    response = post_raw(api, endpoint, json.dumps(with_value(endpoint, field, value)))
    problem = assert_problem(response, 400, "invalid")
    assert field in problem["errors"], problem
    assert counts() == before


@pytest.mark.parametrize("value", UNSAFE_IN_TEXT.values(), ids=UNSAFE_IN_TEXT)
@pytest.mark.parametrize(("endpoint", "field"), every(FREE_TEXT))
def test_control_characters_are_refused_in_free_text(
    api, before, endpoint: str, field: str, value: str
) -> None:
    response = post_raw(api, endpoint, json.dumps(with_value(endpoint, field, value)))
    problem = assert_problem(response, 400, "invalid")
    assert problem["errors"][field] == [
        "Control characters other than tab and line breaks are not allowed "
        f"(found U+{ord(next(c for c in value if c.isprintable() is False)):04X})."
    ]
    assert counts() == before


@pytest.mark.parametrize(("endpoint", "field"), every(FIELDS))
def test_a_nul_character_in_a_body_is_400(api, before, endpoint: str, field: str) -> None:
    response = post_raw(api, endpoint, json.dumps(with_value(endpoint, field, "nul\x00nul")))
    assert field in assert_problem(response, 400, "invalid")["errors"]
    assert counts() == before


# --- (2) NUL in a URL -----------------------------------------------------------------------

NUL_URLS = [
    ("get", "/api/v1/crises/%00/"),
    ("get", "/api/v1/crises/%00/wait/"),
    ("post", "/api/v1/crises/%00/cancel/"),
    ("get", "/api/v1/crises/?status=%00"),
    ("get", "/api/v1/crisis-schedules/%00/"),
    ("post", "/api/v1/crisis-schedules/%00/trigger/"),
    ("get", "/api/v1/epochs/%00/"),
    ("get", "/api/v1/epochs/%00/history/"),
    *[("post", f"/api/v1/epochs/%00/{move}/") for move in ("advance", "votes", "blockers")],
    *[("post", f"/api/v1/epochs/%00/{move}/") for move in ("slices", "sessions")],
    ("get", "/api/v1/audit-events/?subject_id=%00"),
]


@pytest.mark.parametrize(("method", "url"), NUL_URLS)
def test_a_nul_in_an_api_url_is_400_not_an_outage(api, before, method: str, url: str) -> None:
    body = assert_problem(getattr(api, method)(url), 400, "bad-request")
    assert body["detail"] == "The URL contains a NUL character."
    assert counts() == before


@pytest.mark.parametrize(
    "url",
    [
        "/admin/crises/crisis/%00/change/",
        "/admin/crises/crisis/?status__exact=%00",
        "/admin/crises/crisisschedule/%00/change/",
        "/admin/epochs/epoch/%00/change/",
        "/admin/epochs/epoch/?status__exact=%00",
        "/admin/audit/auditevent/%00/change/",
    ],
)
def test_a_nul_in_an_admin_url_is_400(superuser, url: str) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


# --- (9) refusals Django makes before any view ----------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_bad_host_is_a_400_problem(api, before, endpoint: str) -> None:
    response = post_raw(api, endpoint, json.dumps(WRITES[endpoint][1]), HTTP_HOST="evil.example")
    body = assert_problem(response, 400, "bad-request")
    assert body["detail"] == "The Host header names a host this server does not serve."
    assert b"ALLOWED_HOSTS" not in response.content and b"evil.example" not in response.content
    assert counts() == before


def test_a_bad_host_outside_the_api_keeps_django_s_page(superuser) -> None:
    response = Client(raise_request_exception=False).get("/admin/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_overlong_url_is_a_414_problem(api, before, endpoint: str, settings) -> None:
    url = WRITES[endpoint][0] + "?pad=" + "x" * settings.AURA_MAX_URL_LENGTH
    response = api.post(url, WRITES[endpoint][1], format="json")
    body = assert_problem(response, 414, "uri-too-long")
    assert body["detail"] == f"The URL is longer than {settings.AURA_MAX_URL_LENGTH} bytes."
    assert counts() == before


def test_a_url_at_the_limit_is_served(api, settings) -> None:
    url = "/api/v1/crises/?search="
    url += "x" * (settings.AURA_MAX_URL_LENGTH - len(url))
    assert api.get(url).status_code == 200
    assert_problem(api.get(url + "x"), 414, "uri-too-long")


# --- the same rules at the other edges ------------------------------------------------------


@pytest.mark.parametrize("value", UNSAFE_IN_IDENTIFIERS.values(), ids=UNSAFE_IN_IDENTIFIERS)
def test_the_crisis_rules_refuse_unsafe_targets_and_mission_fields(value: str) -> None:
    # The rules the admin, the CLI and the agency share with the API (crises/validation.py).
    errors = request_errors(value, [{**MISSION, "agent_id": value}])
    assert set(errors) == {"target", "missions.0.agent_id"}


def test_admin_forms_refuse_control_characters() -> None:
    assert "target" in TriggerForm(data={"target": "abc\u202edef"}).errors
    form = StartEpochForm(data={"request_description": "bell\x07"})
    assert "request_description" in form.errors
    assert StartEpochForm(data={"request_description": "two\r\nlines\tand a tab"}).is_valid()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_multipart_file_over_the_upload_limit_is_413(api, before, endpoint, settings) -> None:
    upload = SimpleUploadedFile("big.bin", b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
    response = api.post(WRITES[endpoint][0], {"file": upload}, format="multipart")
    assert_problem(response, 413, "too-large")
    assert counts() == before
