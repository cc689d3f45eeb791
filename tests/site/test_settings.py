"""Settings come from the environment, with safe production behaviour."""

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aura_site import devstack

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AURA_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", AURA_ENV="production")
    assert result.returncode == 1
    assert result.stderr == (
        "Configuration error: DJANGO_SECRET_KEY must be set when AURA_ENV=production.\n"
    )


def test_production_configuration_passes_check_deploy() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        AURA_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="aura.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DJANGO_DEBUG": "maybe"},
            "DJANGO_DEBUG must be a boolean (1/0, true/false), not 'maybe'.",
        ),
        (
            {"AURA_ENV": "staging"},
            "AURA_ENV must be 'development' or 'production', not 'staging'.",
        ),
        (
            {"DATABASE_CONN_MAX_AGE": "long"},
            "DATABASE_CONN_MAX_AGE must be an integer, not 'long'.",
        ),
        (
            {"AURA_ALLOW_SLICE_COMMANDS": "maybe"},
            "AURA_ALLOW_SLICE_COMMANDS must be a boolean (1/0, true/false), not 'maybe'.",
        ),
        ({"AURA_MAX_OPEN_WAITS": "0"}, "AURA_MAX_OPEN_WAITS must be at least 1."),
        (
            {"AURA_THROTTLE_WRITES": "lots"},
            "AURA_THROTTLE_WRITES must be a rate such as 120/min (per s, min, hour or day) "
            "or off, not 'lots'.",
        ),
        (
            {"AURA_LOG_FORMAT": "xml"},
            "AURA_LOG_FORMAT must be one of text, json, not 'xml'.",
        ),
        (
            {"AURA_TRACING": "jaeger"},
            "AURA_TRACING must be one of off, otlp, not 'jaeger'.",
        ),
    ],
)
def test_bad_settings_are_one_clear_line(env: dict[str, str], message: str) -> None:
    result = manage("check", **env)
    assert result.returncode == 1
    assert result.stderr == f"Configuration error: {message}\n"


def test_unknown_audit_trail_is_a_system_check_error() -> None:
    result = manage("check", AURA_AUDIT_TRAIL="redis")
    assert result.returncode == 1
    assert "(aura.E001) unknown audit trail 'redis'" in result.stderr


def test_debug_is_off_by_default() -> None:
    result = manage("diffsettings", "--all")
    assert "DEBUG = False" in [line.lstrip("# ") for line in result.stdout.splitlines()]
    result = manage("diffsettings", "--all", DJANGO_DEBUG="1")
    assert "DEBUG = True" in [line.lstrip("# ") for line in result.stdout.splitlines()]


def test_dev_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    key = devstack.dev_secret_key(tmp_path / ".aura")
    assert len(key) >= 50
    assert devstack.dev_secret_key(tmp_path / ".aura") == key
    mode = stat.S_IMODE((tmp_path / ".aura" / "secret_key").stat().st_mode)
    assert mode == 0o600


def setting(name: str, **env: str) -> str:
    """Return repr() of a setting as `manage.py` sees it with `env`."""
    code = f"from django.conf import settings; print(repr(getattr(settings, {name!r}, None)))"
    result = manage("shell", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_open_wait_cap_and_the_database_pool_come_from_the_environment() -> None:
    code = (
        "from django.conf import settings; from django.db import connection; "
        "print(settings.AURA_MAX_OPEN_WAITS, connection.settings_dict['CONN_MAX_AGE'], "
        "connection.settings_dict['OPTIONS'].get('pool'))"
    )

    def shown(**env: str) -> str:
        result = manage("shell", "-c", code, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    assert shown() == "5 60 None"
    assert shown(AURA_MAX_OPEN_WAITS="12", DATABASE_POOL_SIZE="7") == (
        "12 0 {'min_size': 1, 'max_size': 7, 'timeout': 5}"
    )


PRODUCTION = {
    "AURA_ENV": "production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "aura.example.com",
}


@pytest.mark.parametrize("env", [{}, PRODUCTION], ids=["development", "production"])
def test_x_forwarded_proto_is_trusted_only_when_enabled(env: dict[str, str]) -> None:
    assert setting("SECURE_PROXY_SSL_HEADER", **env) == "None"
    enabled = {**env, "DJANGO_SECURE_PROXY_SSL_HEADER": "1"}
    assert setting("SECURE_PROXY_SSL_HEADER", **enabled) == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.parametrize(
    ("env", "writes", "waits"),
    [
        ({}, "'120/min'", "'60/min'"),
        ({"AURA_THROTTLE_WRITES": "10/s", "AURA_THROTTLE_WAITS": "off"}, "'10/s'", "None"),
    ],
)
def test_throttle_rates_come_from_the_environment(env, writes: str, waits: str) -> None:
    assert setting("AURA_THROTTLE_WRITES", **env) == writes
    assert setting("AURA_THROTTLE_WAITS", **env) == waits
