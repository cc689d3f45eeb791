"""The Temporal UI's codec endpoint: protocol, permission, CORS, CSRF and bad bodies."""

import base64
import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token

from aura_site.codec import ENCODING, KEY_ID
from aura_site.payload_keys import new_key_text, parse_payload_keys
from tests.fuzzing import CHECKS, schema

UI = "http://127.0.0.1:8233"
FOREIGN = "https://evil.example"
ENCODE, DECODE = "/codec/encode", "/codec/decode"
KEYS = f"k1:{new_key_text()}"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


PLAIN = {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'"target-alpha"')}


def codec_user(username: str = "ui", *, allowed: bool = True) -> User:
    user = User.objects.create_user(username, password="pw")
    if allowed:
        user.user_permissions.add(Permission.objects.get(codename="use_payload_codec"))
    return user


def token_headers(user: User, **headers: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}", **headers}


def post(client: Client, url: str, body: Any, **headers: str):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data, content_type="application/json", **headers)


@pytest.fixture
def keys(settings: Any) -> None:
    settings.AURA_PAYLOAD_KEYS = parse_payload_keys(KEYS)
    settings.AURA_CODEC_CORS_ORIGINS = [UI]


@pytest.mark.django_db
class TestProtocol:
    def test_decode_reverses_encode_and_the_middle_is_ciphertext(self, keys: None) -> None:
        headers = token_headers(codec_user(), HTTP_X_NAMESPACE="default")
        encoded = post(Client(), ENCODE, {"payloads": [PLAIN]}, **headers)
        assert encoded.status_code == 200, encoded.content
        assert encoded["Content-Type"] == "application/json"
        (sealed,) = encoded.json()["payloads"]
        assert sealed["metadata"] == {"encoding": b64(ENCODING), KEY_ID: b64(b"k1")}
        assert b"target-alpha" not in base64.b64decode(sealed["data"])
        decoded = post(Client(), DECODE, {"payloads": [sealed, PLAIN]}, **headers)
        assert decoded.status_code == 200, decoded.content
        assert decoded.json() == {"payloads": [PLAIN, PLAIN]}

    def test_url_safe_base64_and_missing_fields_are_accepted(self, keys: None) -> None:
        body = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L251bGw"}}, {}]}
        answer = post(Client(), DECODE, body, **token_headers(codec_user()))
        assert answer.json() == {
            "payloads": [
                {"metadata": {"encoding": b64(b"binary/null")}, "data": ""},
                {"metadata": {}, "data": ""},
            ]
        }

    def test_encryption_off_answers_payloads_unchanged(self, settings: Any) -> None:
        settings.AURA_PAYLOAD_KEYS = ()
        headers = token_headers(codec_user())
        for url in (ENCODE, DECODE):
            answer = post(Client(), url, {"payloads": [PLAIN]}, **headers)
            assert (answer.status_code, answer.json()) == (200, {"payloads": [PLAIN]})

    def test_unknown_key_id_is_a_400_naming_the_payload(self, keys: None, settings) -> None:
        headers = token_headers(codec_user())
        sealed = post(Client(), ENCODE, {"payloads": [PLAIN]}, **headers).json()["payloads"]
        settings.AURA_PAYLOAD_KEYS = parse_payload_keys(f"k2:{new_key_text()}")
        answer = post(Client(), DECODE, {"payloads": [PLAIN, *sealed]}, **headers)
        assert answer.status_code == 400
        assert answer["Content-Type"] == "application/problem+json"
        assert answer.json()["errors"] == {
            "payloads.1": [
                "payload encrypted with key id 'k1', which AURA_PAYLOAD_KEYS does not hold"
            ]
        }

    @pytest.mark.parametrize(
        "body",
        [
            "{",
            '"payloads"',
            "[]",
            "{}",
            {"payloads": None},
            {"payloads": {}},
            {"payloads": [1]},
            {"payloads": [{"data": "***"}]},
            {"payloads": [{"data": 5}]},
            {"payloads": [{"metadata": []}]},
            {"payloads": [{"metadata": {"encoding": None}}]},
            {"payloads": [{"metadata": {"encoding": "x\u00e9"}}]},
            {"payloads": [{"metadata": {"encoding": b64(ENCODING)}, "data": "AA"}]},
            {"payloads": [{}] * 1001},
        ],
    )
    def test_bad_bodies_are_400_problems(self, keys: None, body: Any) -> None:
        answer = post(Client(), DECODE, body, **token_headers(codec_user()))
        assert answer.status_code == 400, answer.content
        assert answer["Content-Type"] == "application/problem+json"

    def test_a_body_over_the_upload_limit_is_a_413(self, keys: None) -> None:
        body = {"payloads": [{"data": "QUFB" * 700_000}]}  # 2.8 MB
        answer = post(Client(), DECODE, body, **token_headers(codec_user()))
        assert answer.status_code == 413
        assert answer["Content-Type"] == "application/problem+json"

    def test_a_body_that_is_not_json_is_a_415(self, keys: None) -> None:
        headers = token_headers(codec_user())
        answer = Client().post(DECODE, "payloads", content_type="text/plain", **headers)
        assert answer.status_code == 415
        assert answer["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
class TestAccess:
    def test_anonymous_is_401(self, keys: None) -> None:
        answer = post(Client(), DECODE, {"payloads": [PLAIN]})
        assert answer.status_code == 401
        assert answer["Content-Type"] == "application/problem+json"
        assert answer["WWW-Authenticate"] == "Token"

    def test_without_the_permission_is_403(self, keys: None) -> None:
        headers = token_headers(codec_user(allowed=False))
        answer = post(Client(), DECODE, {"payloads": [PLAIN]}, **headers)
        assert answer.status_code == 403
        assert answer["Content-Type"] == "application/problem+json"

    def test_a_superuser_may(self, keys: None) -> None:
        admin = User.objects.create_superuser("admin", password="pw")
        answer = post(Client(), DECODE, {"payloads": [PLAIN]}, **token_headers(admin))
        assert answer.status_code == 200

    def test_session_from_the_ui_origin_needs_no_csrf_token(self, keys: None) -> None:
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(codec_user())
        answer = post(browser, DECODE, {"payloads": [PLAIN]}, HTTP_ORIGIN=UI)
        assert answer.status_code == 200, answer.content
        assert answer["Access-Control-Allow-Origin"] == UI

    @pytest.mark.parametrize("origin", [FOREIGN, None])
    def test_session_from_elsewhere_still_needs_the_csrf_token(
        self, keys: None, origin: str | None
    ) -> None:
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(codec_user())
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        answer = post(browser, DECODE, {"payloads": [PLAIN]}, **headers)
        assert answer.status_code == 403
        assert answer.json()["detail"].startswith("CSRF Failed")
        assert "Access-Control-Allow-Origin" not in answer


@pytest.mark.django_db
class TestCors:
    def preflight(self, origin: str):
        return Client().options(
            DECODE,
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-namespace",
        )

    def test_preflight_from_the_ui_allows_post_with_credentials(self, keys: None) -> None:
        answer = self.preflight(UI)
        assert answer.status_code == 204
        assert answer["Access-Control-Allow-Origin"] == UI
        assert answer["Access-Control-Allow-Credentials"] == "true"
        assert "POST" in answer["Access-Control-Allow-Methods"]
        allowed = {h.strip() for h in answer["Access-Control-Allow-Headers"].split(",")}
        assert {"content-type", "x-namespace", "authorization"} <= allowed
        assert "Origin" in answer["Vary"]

    def test_preflight_from_elsewhere_gets_no_cors_headers(self, keys: None) -> None:
        answer = self.preflight(FOREIGN)
        cors = [name for name in answer.headers if name.lower().startswith("access-control-")]
        assert cors == []

    @pytest.mark.parametrize(("origin", "readable"), [(UI, True), (FOREIGN, False)])
    def test_answers_are_readable_by_the_ui_origin_only(
        self, keys: None, origin: str, readable: bool
    ) -> None:
        headers = token_headers(codec_user(), HTTP_ORIGIN=origin)
        for body, status in [({"payloads": [PLAIN]}, 200), ({}, 400)]:
            answer = post(Client(), DECODE, body, **headers)
            assert answer.status_code == status
            assert answer.get("Access-Control-Allow-Origin") == (origin if readable else None)
            assert answer.get("Access-Control-Allow-Credentials") == ("true" if readable else None)
            assert "Origin" in answer["Vary"]
        anonymous = post(Client(), DECODE, {"payloads": [PLAIN]}, HTTP_ORIGIN=origin)
        assert anonymous.status_code == 401
        assert anonymous.get("Access-Control-Allow-Origin") == (origin if readable else None)

    def test_in_the_openapi_schema(self) -> None:
        client = Client()
        client.force_login(User.objects.create_superuser("admin", password="pw"))
        paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
        for url in (ENCODE, DECODE):
            responses = paths[url]["post"]["responses"]
            assert {"200", "400", "401", "403", "413", "415"} <= set(responses)


@pytest.fixture
def fuzz_token(django_user_model: Any) -> str:
    user = django_user_model.objects.create_user("fuzzer", password="x")
    user.user_permissions.add(Permission.objects.get(codename="use_payload_codec"))
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
@schema.include(path_regex="^/codec/").parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_codec_endpoints_fuzzed(case: Any, fuzz_token: str, keys: None) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {fuzz_token}"}, checks=CHECKS)
