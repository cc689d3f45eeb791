"""gunicorn settings for `manage.py up` (and a starting point for deployments)."""

import os
import sys

from aura_site import logs

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
# AURA_LOG_FORMAT=json: gunicorn's own logs and its access log (with the response's request id)
# go through the app's JSON handler, one object per line on stderr. Settings reject a bad value.
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
