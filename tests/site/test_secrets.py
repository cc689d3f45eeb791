"""Secrets (API keys, TLS keys, passwords, tokens) never appear in logs, errors or admin pages."""

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def secret() -> str:
    return f"s3cret-{uuid.uuid4().hex}"


def pem(kind: str, body: str) -> str:
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


@pytest.mark.parametrize("transport", ["api-key", "mtls"])
def test_runworker_never_prints_temporal_credentials(transport: str) -> None:
    api_key, tls_key = secret(), secret()
    env = {**os.environ, "AURA_LOG_LEVEL": "DEBUG"}
    if transport == "api-key":
        env["TEMPORAL_API_KEY"] = api_key
    else:
        env["TEMPORAL_TLS_CERT"] = pem("CERTIFICATE", "bm90IGEgY2VydA==")
        env["TEMPORAL_TLS_KEY"] = pem("PRIVATE KEY", tls_key)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "runworker",
            "--verbose",
            "--connect-attempts",
            "1",
            "--server-address",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Temporal" in output
    assert api_key not in output and tls_key not in output


@pytest.mark.django_db
def test_a_token_is_shown_once_to_its_creator(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="password"))
    owner = User.objects.create_user("bot")
    created = admin.post(reverse("admin:aura_site_apitoken_add"), {"user": owner.pk})
    key = Token.objects.get(user=owner).key
    assert created.status_code == 200
    assert key in created.content.decode()

    pages = [
        reverse("admin:index"),
        reverse("admin:aura_site_apitoken_changelist"),
        reverse("admin:aura_site_apitoken_change", args=[owner.pk]),
        reverse("admin:aura_site_apitoken_history", args=[owner.pk]),
        reverse("admin:aura_site_apitoken_delete", args=[owner.pk]),
        reverse("admin:auth_user_change", args=[owner.pk]),
    ]
    for page in pages:
        response = admin.get(page)
        assert response.status_code == 200, page
        assert key not in response.content.decode(), page
    assert key[:4] + "…" in admin.get(pages[1]).content.decode()
    assert key not in caplog.text


@pytest.mark.django_db
def test_wrong_credentials_are_not_echoed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token, password = secret(), secret()
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    refused = api.get(reverse("crisis-list"))
    assert refused.status_code == 401
    User.objects.create_user("ann", password="right-password")
    login = Client().post(reverse("admin:login"), {"username": "ann", "password": password})
    assert login.status_code == 200
    for text in (refused.content.decode(), login.content.decode(), caplog.text):
        assert token not in text and password not in text
