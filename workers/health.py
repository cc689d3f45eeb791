"""runworker's probes (`--health-bind`): `/healthz` and `/readyz` over plain HTTP.

A tiny stdlib server on a thread of its own, reading the state the worker's event loop keeps up
to date, so a busy or blocked loop never delays a probe.
"""

import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)


@dataclass
class WorkerHealth:
    """What the probes report; written by the worker's event loop only."""

    polling: bool = False
    draining: bool = False
    server_reachable: bool = False

    def live(self) -> bool:
        return self.polling

    def ready(self) -> bool:
        return self.polling and not self.draining and self.server_reachable

    def checks(self) -> dict[str, dict[str, bool]]:
        return {
            "polling": {"ok": self.polling and not self.draining, "draining": self.draining},
            "temporal": {"ok": self.server_reachable},
        }


def _handler(health: WorkerHealth) -> type[BaseHTTPRequestHandler]:
    class ProbeHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self.path == "/healthz":
                ok, body = health.live(), {}
            elif self.path == "/readyz":
                ok, body = health.ready(), {"checks": health.checks()}
            else:
                self.send_error(404)
                return
            payload = json.dumps({"status": "ok" if ok else "unavailable", **body}).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # probes come every few seconds: not worth a log line each

    return ProbeHandler


def start_health_server(host: str, port: int, health: WorkerHealth) -> ThreadingHTTPServer:
    """Serve the probes on `host:port` from a daemon thread; return the server.

    Raises:
        ValueError: when nothing can listen there (port in use, unknown address).
    """
    try:
        server = ThreadingHTTPServer((host, port), _handler(health))
    except OSError as exc:
        raise ValueError(f"--health-bind: cannot listen on {host}:{port}: {exc.strerror}") from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    logger.info("Health probes on http://%s:%d/healthz and /readyz", host, port)
    return server
