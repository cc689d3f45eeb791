"""`runworker`'s configuration: flag > environment variable > default.

Pure functions over an explicit argv list and environment mapping, so tests never patch
`sys.argv` or `os.environ`.
"""

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DESCRIPTION = "runworker \u2014 Temporal worker for Aura (crisis responses and Aura Protocol v3)."

# option → (environment variable, default)
SOURCES = {
    "namespace": ("TEMPORAL_NAMESPACE", "default"),
    "task_queue": ("TEMPORAL_TASK_QUEUE", "aura"),
    "server_address": ("TEMPORAL_ADDRESS", "localhost:7233"),
    "audit_trail": ("AURA_AUDIT_TRAIL", "postgres"),
}

EPILOG = """\
environment variables (used when the flag is not given; an empty value counts as unset):
  TEMPORAL_NAMESPACE   --namespace       (default: default)
  TEMPORAL_TASK_QUEUE  --task-queue      (default: aura)
  TEMPORAL_ADDRESS     --server-address  (default: localhost:7233)
  AURA_AUDIT_TRAIL     --audit-trail     (default: postgres)
  TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_API_KEY
                       Temporal Cloud: mTLS files (or PEM text) and/or an API key

Priority: explicit flag, then environment variable, then built-in default.
The first SIGINT/SIGTERM drains (in-flight activities finish, then exit 0);
a second one stops at once.

--metrics-bind serves GET /metrics: the Temporal SDK's metrics (temporal_*) and the
process's (process_*, python_*). --health-bind serves GET /healthz (200 while the
worker polls, draining included) and GET /readyz (200 while it polls, is not draining
and its Temporal server answers; else 503). See docs/operations.md.
"""

Bind = tuple[str, int]


def bind_address(value: str) -> Bind:
    """Parse `HOST:PORT` (HOST may be empty for every interface)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:9464, not {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


@dataclass(frozen=True)
class WorkerConfig:
    namespace: str = "default"
    task_queue: str = "aura"
    server_address: str = "localhost:7233"
    audit_trail: str = "postgres"
    only: tuple[str, ...] = ()
    drain_timeout: float = 30.0
    max_concurrent_activities: int = 50
    connect_attempts: int = 5
    verbose: bool = False
    reconcile: bool = True
    sandbox: bool = False
    metrics_bind: Bind | None = None
    health_bind: Bind | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare runworker's options (shared by parse_args and the management command)."""
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--namespace",
        metavar="NS",
        help="Temporal namespace (env TEMPORAL_NAMESPACE, default 'default')",
    )
    parser.add_argument(
        "--task-queue",
        metavar="QUEUE",
        help="task queue of the Aura protocol workflows (env TEMPORAL_TASK_QUEUE, default 'aura')",
    )
    parser.add_argument(
        "--server-address",
        metavar="ADDR",
        help="Temporal server host:port (env TEMPORAL_ADDRESS, default 'localhost:7233')",
    )
    parser.add_argument(
        "--audit-trail",
        metavar="BACKEND",
        help="audit trail backend: postgres, memory, sqlite:<path> or temporal "
        "(env AURA_AUDIT_TRAIL, default 'postgres')",
    )
    parser.add_argument(
        "--only",
        metavar="QUEUE",
        action="append",
        default=[],
        help="serve only this task queue (repeat for several); default: every registered queue",
    )
    parser.add_argument(
        "--drain-timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="on the first signal, how long in-flight activities may run before being cancelled "
        "(default 30)",
    )
    parser.add_argument(
        "--max-concurrent-activities",
        metavar="N",
        type=int,
        default=50,
        help="activities run at once per queue (default 50)",
    )
    parser.add_argument(
        "--connect-attempts",
        metavar="N",
        type=int,
        default=5,
        help="how many times to try reaching the server before giving up (default 5)",
    )
    parser.add_argument(
        "--no-reconciler",
        action="store_true",
        help="do not start pending workflow starts from this process (another worker does)",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run workflows in the Temporal SDK's sandbox, which checks the calls they make for "
        "non-determinism as they run (about half as much worker CPU again; default: off)",
    )
    parser.add_argument(
        "--metrics-bind",
        metavar="HOST:PORT",
        type=bind_address,
        help="serve Prometheus metrics (the Temporal SDK's and the process's) at "
        "http://HOST:PORT/metrics (default: off)",
    )
    parser.add_argument(
        "--health-bind",
        metavar="HOST:PORT",
        type=bind_address,
        help="serve the /healthz and /readyz probes at http://HOST:PORT (default: off)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log where each setting's value came from"
    )


def resolve(options: Mapping[str, object], environ: Mapping[str, str]) -> WorkerConfig:
    """Return the configuration from parsed flags and the environment (flag > env > default)."""
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, (variable, default) in SOURCES.items():
        flag = options.get(name)
        if flag is not None:
            values[name], sources[name] = str(flag), f"CLI --{name.replace('_', '-')}"
        elif environ.get(variable):
            values[name], sources[name] = environ[variable], f"env {variable}"
        else:
            values[name], sources[name] = default, "default"
    return WorkerConfig(
        **values,
        only=tuple(options.get("only") or ()),
        drain_timeout=float(options.get("drain_timeout") or 30.0),
        max_concurrent_activities=int(options.get("max_concurrent_activities") or 50),
        connect_attempts=int(options.get("connect_attempts") or 5),
        verbose=bool(options.get("verbose")),
        reconcile=not options.get("no_reconciler"),
        sandbox=bool(options.get("sandbox")),
        metrics_bind=options.get("metrics_bind"),
        health_bind=options.get("health_bind"),
        sources=sources,
    )


def build_parser(prog: str = "manage.py runworker") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    add_arguments(parser)
    return parser


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> WorkerConfig:
    """Parse runworker's command line `argv` (without the program name)."""
    return resolve(vars(build_parser().parse_args(list(argv))), environ)
