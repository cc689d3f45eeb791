"""gunicorn settings for `manage.py up` (and a starting point for deployments).

gunicorn manages the processes; each runs uvicorn's event loop with `aura_site.asgi`. A
long-poll (`GET …/wait/`) then awaits Temporal on the loop instead of holding one of a few
request threads, and sync views run on a pool of threads (aura_site/asgi_handler.py).
"""

import os
import sys
import tempfile

from uvicorn_worker import UvicornWorker

from aura_site import logs


class Worker(UvicornWorker):
    """uvicorn under gunicorn, with the app, not uvicorn, deciding what to trust of a proxy."""

    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        # Django has no lifespan protocol: without this uvicorn probes for it on every start.
        "lifespan": "off",
        # X-Forwarded-For/-Proto count only as AURA_PROXY_COUNT and
        # DJANGO_SECURE_PROXY_SSL_HEADER say (docs/security.md); uvicorn would trust them from
        # any loopback client.
        "proxy_headers": False,
        # On shutdown, open long-polls get this long to end, then are cancelled (their slots
        # freed), well inside gunicorn's graceful_timeout.
        "timeout_graceful_shutdown": 5,
    }


worker_class = "aura_site.gunicorn_conf.Worker"
# The application, named here so the systemd unit and the container start gunicorn with this
# file alone and follow any change of worker class and application together.
wsgi_app = "aura_site.asgi:application"
timeout = 90
graceful_timeout = 10
control_socket_disable = True
# No server access log: the app writes one line per request itself (logger `aura.access`, with
# the request id and the user; aura_site/middleware.py).
accesslog = None
# AURA_LOG_FORMAT=json: gunicorn's own logs go through the app's JSON handler, one object per
# line on stderr. Settings reject a bad value.
if os.environ.get("AURA_LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = logs.logging_config("json", os.environ.get("AURA_LOG_LEVEL") or "INFO")


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
