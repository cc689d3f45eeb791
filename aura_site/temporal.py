"""The one Temporal client of a process, shared by the web views, commands and the worker."""

import asyncio
import atexit
import logging
import os
import socket
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from aura_site import tracing
from aura_site.codec import settings_data_converter
from aura_site.errors import Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

_client: Client | None = None
# The event loop sync code (views, commands) runs its Temporal calls on, and its process.
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()
# Set once this process started the SDK's core runtime (any connect, even a failed one).
_runtime_started = False


class TemporalUnavailable(Unavailable):
    """Raised when the Temporal server cannot be reached."""

    public_detail = "The workflow service is not available; try again shortly."

    def __init__(self, message: str = "The workflow service is not available; try again shortly."):
        super().__init__(message)


def _pem(value: str) -> bytes:
    """Return PEM bytes from a file path or from the PEM text itself."""
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    return Path(value).expanduser().read_bytes()


def tls_config(*, cert: str = "", key: str = "", ca: str = "") -> TLSConfig | None:
    """Return the TLS settings for Temporal Cloud (mTLS) or a private CA, or None for plaintext."""
    if bool(cert) != bool(key):
        raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together.")
    if not (cert or ca):
        return None
    return TLSConfig(
        client_cert=_pem(cert) if cert else None,
        client_private_key=_pem(key) if key else None,
        server_root_ca_cert=_pem(ca) if ca else None,
    )


def data_converter() -> DataConverter:
    """Return how payloads are converted: every client, worker and replayer uses this one.

    With `AURA_PAYLOAD_KEYS` set, it encrypts them (aura_site/codec.py).
    """
    return settings_data_converter()


def identity() -> str:
    """Return this process's identity as Temporal shows it: `<pid>@<host>`."""
    return f"{os.getpid()}@{socket.gethostname()}"


async def connect(
    address: str,
    *,
    namespace: str = "default",
    tls: TLSConfig | None = None,
    api_key: str = "",
    attempts: int = 5,
    delay: float = 1.0,
    runtime: Runtime | None = None,
) -> Client:
    """Connect to Temporal, retrying a few times before giving up with TemporalUnavailable.

    Every client of the app comes from here, so web, worker and commands share one data
    converter, the one `AURA_PAYLOAD_KEYS` configures.

    `runtime` is the SDK's core runtime the client (and its workers) report metrics through;
    the process's default one when None.
    """
    global _runtime_started
    _runtime_started = True
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                address,
                namespace=namespace,
                tls=tls if tls is not None else bool(api_key),
                api_key=api_key or None,
                identity=identity(),
                data_converter=data_converter(),
                runtime=runtime,
                # Workers built on this client inherit them (the tracing interceptor's too).
                interceptors=tracing.client_interceptors(),
            )
        except RuntimeError as exc:  # the core SDK reports connect failures as RuntimeError
            if attempt == attempts:
                raise TemporalUnavailable(
                    f"cannot reach Temporal at {address} (namespace {namespace!r}) "
                    f"after {attempts} attempts: {exc}"
                ) from exc
            logger.warning(
                "Temporal at %s not reachable (attempt %d/%d)", address, attempt, attempts
            )
            await asyncio.sleep(delay * attempt)
    raise AssertionError("unreachable")


def search_attributes() -> dict[str, str]:
    """Return the search attributes (name → type) the installed apps declare they need."""
    return {
        name: kind
        for config in apps.get_app_configs()
        for name, kind in getattr(config, "search_attributes", {}).items()
    }


def settings_tls() -> TLSConfig | None:
    return tls_config(
        cert=settings.TEMPORAL_TLS_CERT, key=settings.TEMPORAL_TLS_KEY, ca=settings.TEMPORAL_TLS_CA
    )


async def get_client() -> Client:
    """Return the process's client, connecting on first use with the Django settings."""
    global _client
    # No lock: callers come from several event loops (the worker's and run_sync's), and
    # two racing first calls only cost one spare connection.
    if _client is None:
        _client = await connect(
            settings.TEMPORAL_ADDRESS,
            namespace=settings.TEMPORAL_NAMESPACE,
            tls=settings_tls(),
            api_key=settings.TEMPORAL_API_KEY,
            # One attempt: a caller that cannot reach Temporal keeps its work pending (the
            # start outbox) or answers 503 at once, rather than holding a request thread.
            attempts=1,
        )
    return _client


def _client_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked child needs its own thread
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="temporal-calls", daemon=True).start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a Temporal call from sync code (views, commands, activities) and return its result.

    One long-lived event loop thread per process serves every such call: async_to_sync would
    start a thread and an event loop for each one, on every request. The call runs in a copy
    of the caller's context (`call_soon_threadsafe` copies it in the calling thread), so the
    current trace span and the log context (request id, user) reach Temporal's interceptors.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run_coroutine_threadsafe(coroutine, _client_loop()).result()
    coroutine.close()
    raise RuntimeError("run_sync() cannot be called from a running event loop; await instead.")


def runtime_started() -> bool:
    """Return whether this process started the Temporal SDK's core runtime threads."""
    return _runtime_started or _client is not None


def exit_process(code: int) -> None:
    """Exit with `code`, skipping interpreter teardown once Temporal's runtime was started.

    The SDK's Rust threads can abort CPython's finalization with "PyGILState_Release: thread
    state must be current" (temporalio/sdk-python#300), turning a clean exit into SIGABRT.
    Exit handlers still run and output is flushed.
    """
    if not runtime_started():
        sys.exit(code)
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def set_client(client: Client | None) -> None:
    """Use `client` as the process's client (the worker shares its own; tests their server's)."""
    global _client
    _client = client


@receiver(setting_changed)
def _reset_client(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("TEMPORAL_") or setting == "AURA_PAYLOAD_KEYS":
        set_client(None)
