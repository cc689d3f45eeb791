"""runworker's metrics endpoint (`--metrics-bind`): the Temporal SDK's metrics and the
process's, on one port.

The SDK's core runtime exports its metrics (task slots, polls, schedule-to-start and execution
latencies, failures) through its own Prometheus exporter, which cannot share a registry with
prometheus-client. So the runtime exports on a loopback port of its own, and the one endpoint
operators scrape reads it at scrape time and serves it beside prometheus-client's process, GC
and platform collectors (the idea of PostHog's combined metrics server).
"""

import logging
import socket
import urllib.request
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

logger = logging.getLogger(__name__)

SCRAPE_TIMEOUT_SECONDS = 2


class SdkMetricsCollector:
    """Collect the metrics the SDK runtime's exporter serves at `url`, as it names them."""

    def __init__(self, url: str) -> None:
        self.url = url

    def collect(self) -> Iterable[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=SCRAPE_TIMEOUT_SECONDS) as response:
                text = response.read().decode()
        except OSError as exc:
            logger.warning("Cannot read the Temporal SDK's metrics: %s", exc)
            return []
        return list(text_string_to_metric_families(text))


def _loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_metrics_server(host: str, port: int) -> tuple[Runtime, WSGIServer]:
    """Serve the metrics on `host:port`; return the SDK runtime every client must use, and the
    server (to shut down).

    Raises:
        ValueError: when nothing can listen there (port in use, unknown address).
    """
    sdk_address = f"127.0.0.1:{_loopback_port()}"
    runtime = Runtime(
        telemetry=TelemetryConfig(
            # `_total` on counters, as prometheus-client names them once re-served.
            metrics=PrometheusConfig(bind_address=sdk_address, counters_total_suffix=True)
        )
    )
    registry = CollectorRegistry()
    registry.register(REGISTRY)  # process_*, python_gc_*, python_info
    registry.register(SdkMetricsCollector(f"http://{sdk_address}/metrics"))
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ValueError(
            f"--metrics-bind: cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc
    logger.info("Metrics on http://%s:%d/metrics", host, port)
    return runtime, server
