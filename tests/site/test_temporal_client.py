"""The one client factory: TLS and API keys for Temporal Cloud, retries, one client a process."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from aura_site import logs, temporal
from tests.conftest import server_address

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def test_no_tls_by_default() -> None:
    assert temporal.tls_config() is None


def test_tls_from_files_and_from_pem_text(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_text(CERT)
    (tmp_path / "ca.pem").write_text(CERT)
    config = temporal.tls_config(
        cert=str(tmp_path / "client.pem"), key=KEY, ca=str(tmp_path / "ca.pem")
    )
    assert config.client_cert == CERT.encode()
    assert config.client_private_key == KEY.encode()
    assert config.server_root_ca_cert == CERT.encode()


def test_private_ca_alone_turns_tls_on(tmp_path: Path) -> None:
    config = temporal.tls_config(ca=CERT)
    assert config.server_root_ca_cert == CERT.encode()
    assert config.client_cert is None


def test_cert_without_key_is_refused() -> None:
    with pytest.raises(ValueError, match="must be set together"):
        temporal.tls_config(cert=CERT)


def test_unusable_tls_settings_fail_the_system_checks(settings) -> None:
    from aura_site.checks import check_temporal_tls

    settings.TEMPORAL_TLS_CERT = "/nonexistent/client.pem"
    settings.TEMPORAL_TLS_KEY = "/nonexistent/client.key"
    [error] = check_temporal_tls(None)
    assert error.id == "aura.E002"
    assert "No such file or directory" in error.msg


async def test_api_key_connection_uses_tls(temporal_env: WorkflowEnvironment) -> None:
    # The dev server speaks plaintext, so a client that sends an API key (and therefore TLS)
    # must fail to connect: proof that the key switches TLS on, as Temporal Cloud needs.
    with pytest.raises(temporal.TemporalUnavailable, match="after 1 attempts"):
        await temporal.connect(
            server_address(temporal_env.client), api_key="secret-key", attempts=1
        )


async def test_shared_client_is_created_once(temporal_env: WorkflowEnvironment, settings) -> None:
    temporal.set_client(None)
    settings.TEMPORAL_ADDRESS = server_address(temporal_env.client)
    try:
        first = await temporal.get_client()
        assert await temporal.get_client() is first
        assert temporal.runtime_started()
        settings.TEMPORAL_NAMESPACE = "default"  # any TEMPORAL_* change drops the client
        assert await temporal.get_client() is not first
    finally:
        temporal.set_client(None)


async def test_unreachable_server_is_retried_then_reported() -> None:
    with pytest.raises(temporal.TemporalUnavailable) as caught:
        await temporal.connect("127.0.0.1:1", attempts=2, delay=0.01)
    assert str(caught.value).startswith(
        "cannot reach Temporal at 127.0.0.1:1 (namespace 'default') after 2 attempts"
    )


async def _loop_thread() -> int:
    return threading.get_ident()


def test_run_sync_serves_every_call_from_one_loop_thread() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        threads = set(pool.map(lambda _: temporal.run_sync(_loop_thread()), range(8)))
    assert len(threads) == 1


async def test_run_sync_refuses_a_running_event_loop() -> None:
    coroutine = _loop_thread()
    with pytest.raises(RuntimeError, match="await instead"):
        temporal.run_sync(coroutine)
    assert coroutine.cr_frame is None  # closed: no "never awaited" warning


def test_run_sync_runs_in_a_copy_of_the_callers_context() -> None:
    # The current trace span and the log context must reach the Temporal call.
    with logs.bound(request_id="req-1"):
        assert temporal.run_sync(_bound()) == {"request_id": "req-1"}
    assert temporal.run_sync(_bound()) == {}


async def _bound() -> dict:
    return dict(logs.context())
