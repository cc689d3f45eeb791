"""runworker's configuration: argv parsing, env fallbacks, precedence (flag > env > default)."""

import io
from contextlib import redirect_stdout

import pytest

from workers.conf import WorkerConfig, parse_args

ENV = {
    "TEMPORAL_NAMESPACE": "env-ns",
    "TEMPORAL_TASK_QUEUE": "env-queue",
    "TEMPORAL_ADDRESS": "env-host:7233",
    "AURA_AUDIT_TRAIL": "memory",
}


def test_defaults() -> None:
    config = parse_args([], {})
    assert (config.namespace, config.task_queue, config.server_address, config.audit_trail) == (
        "default",
        "aura",
        "localhost:7233",
        "postgres",
    )
    assert config.sources == dict.fromkeys(
        ["namespace", "task_queue", "server_address", "audit_trail"], "default"
    )


def test_flags() -> None:
    config = parse_args(
        [
            "--namespace",
            "prod",
            "--task-queue",
            "my-queue",
            "--server-address",
            "temporal.example.com:7233",
            "--audit-trail",
            "sqlite:/tmp/audit.db",
            "--only",
            "aura",
            "--only",
            "liara-crisis-tasks",
            "--drain-timeout",
            "5",
        ],
        {},
    )
    assert config == WorkerConfig(
        namespace="prod",
        task_queue="my-queue",
        server_address="temporal.example.com:7233",
        audit_trail="sqlite:/tmp/audit.db",
        only=("aura", "liara-crisis-tasks"),
        drain_timeout=5.0,
    )


def test_environment_fallbacks() -> None:
    config = parse_args([], ENV)
    assert (config.namespace, config.task_queue, config.server_address, config.audit_trail) == (
        "env-ns",
        "env-queue",
        "env-host:7233",
        "memory",
    )
    assert config.sources["namespace"] == "env TEMPORAL_NAMESPACE"


@pytest.mark.parametrize(
    ("flag", "option", "variable"),
    [
        ("--namespace", "namespace", "TEMPORAL_NAMESPACE"),
        ("--task-queue", "task_queue", "TEMPORAL_TASK_QUEUE"),
        ("--server-address", "server_address", "TEMPORAL_ADDRESS"),
        ("--audit-trail", "audit_trail", "AURA_AUDIT_TRAIL"),
    ],
)
def test_flag_beats_environment(flag: str, option: str, variable: str) -> None:
    config = parse_args([flag, "from-flag"], ENV)
    assert getattr(config, option) == "from-flag"
    assert config.sources[option] == f"CLI {flag}"
    assert getattr(parse_args([], ENV), option) == ENV[variable]


def test_empty_environment_variable_counts_as_unset() -> None:
    config = parse_args([], {"TEMPORAL_NAMESPACE": "", "TEMPORAL_ADDRESS": ""})
    assert (config.namespace, config.server_address) == ("default", "localhost:7233")


def test_help_documents_flags_environment_and_precedence() -> None:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit) as exited:
        parse_args(["--help"], {})
    assert exited.value.code == 0
    text = out.getvalue()
    for expected in [
        "--namespace NS",
        "--task-queue QUEUE",
        "--server-address ADDR",
        "--audit-trail BACKEND",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_TASK_QUEUE",
        "TEMPORAL_ADDRESS",
        "AURA_AUDIT_TRAIL",
        "TEMPORAL_API_KEY",
        "Priority: explicit flag, then environment variable, then built-in default.",
        "a second one stops at once",
    ]:
        assert expected in text


def test_the_reconciler_runs_unless_turned_off() -> None:
    assert parse_args([], {}).reconcile is True
    assert parse_args(["--no-reconciler"], {}).reconcile is False


def test_the_sandbox_is_asked_for() -> None:
    assert parse_args([], {}).sandbox is False
    assert parse_args(["--sandbox"], {}).sandbox is True
