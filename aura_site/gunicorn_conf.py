"""gunicorn settings for `manage.py up` (and a starting point for deployments)."""

import os
import sys
import tempfile

# Threads, not processes, carry concurrency: the crisis wait endpoint long-polls up to 60 s.
worker_class = "gthread"
threads = 8
timeout = 90
graceful_timeout = 10
control_socket_disable = True
accesslog = "-"
# gunicorn's largest request line (its default is 4094): the app answers URLs longer than
# AURA_MAX_URL_LENGTH itself, as problem details under /api/.
limit_request_line = 8190


def worker_exit(server, worker) -> None:
    """Leave without interpreter teardown once the worker used Temporal (sdk-python#300)."""
    from aura_site import temporal

    if not temporal.runtime_started():
        return
    # Called from gunicorn's `finally` while the worker's SystemExit propagates: keep its code.
    exiting = sys.exc_info()[1]
    code = exiting.code if isinstance(exiting, SystemExit) and isinstance(exiting.code, int) else 0
    temporal.exit_process(code)


def on_starting(server) -> None:
    """Give the workers an empty directory for prometheus-client's multiprocess mode.

    Each worker process counts its own API requests into files there and `/metrics` adds them
    up. Left-over files of an earlier run would add the old counts in, so they go first.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="aura-prometheus-"
    )
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    # Set before any worker imports prometheus-client: it picks its value store on import.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def child_exit(server, worker) -> None:
    """Drop the live gauges of a worker that exited; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
