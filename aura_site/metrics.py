"""The web process's metrics: API requests (per process) and the registry `/metrics` serves.

Everything that is a fact in PostgreSQL (crises, epochs, starts, the audit trail) is read at
scrape time by the collectors the apps register here, so every gunicorn worker answers the same
numbers. Only API requests are counted per process: under gunicorn `PROMETHEUS_MULTIPROC_DIR`
is set (aura_site/gunicorn_conf.py) and prometheus-client's multiprocess mode adds up the
workers' counters.
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

API_REQUESTS = Counter(
    "aura_api_requests",
    "API requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
)
API_REQUEST_SECONDS = Histogram(
    "aura_api_request_duration_seconds",
    "Time to answer an API request, by route pattern and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

_database_collectors: list[Collector] = []


def register(collector: Collector) -> None:
    """Add a collector that reads the database at scrape time (called from `AppConfig.ready`)."""
    _database_collectors.append(collector)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def scrape() -> bytes:
    """Return the whole scrape in Prometheus's text format."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        # One process (runserver, tests): its own counters, and its process and GC metrics.
        registry.register(REGISTRY)
    for collector in _database_collectors:
        registry.register(collector)
    return generate_latest(registry)
