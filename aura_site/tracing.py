"""OpenTelemetry traces, off unless configured: one trace from a request to the SQL.

The Django instrumentation opens a span per request, temporalio's tracing interceptor carries
it through the client's start into the workflow and its activities (in Temporal's headers),
and the psycopg instrumentation adds a span per SQL statement. The interceptor sits on the one
client factory (aura_site.temporal.connect): workers built on that client inherit it.
"""

import os

from django.conf import settings
from opentelemetry import trace
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

_interceptor: TracingInterceptor | None = None


def otlp_provider() -> TracerProvider:
    """Return a provider exporting spans over OTLP/HTTP, as the `OTEL_*` variables say.

    The exporter reads `OTEL_EXPORTER_OTLP_ENDPOINT` (default http://localhost:4318) and its
    headers; the resource reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: "aura"}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def configure(provider: TracerProvider) -> None:
    """Trace requests, Temporal calls and SQL into `provider` from now on.

    Call it before the web handler loads its middleware (the Django instrumentation adds one)
    and before the Temporal client connects; connections opened earlier are not traced.
    """
    global _interceptor
    DjangoInstrumentor().instrument(tracer_provider=provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider)
    _interceptor = TracingInterceptor(provider.get_tracer(__name__))


def unconfigure() -> None:
    """Stop tracing (tests)."""
    global _interceptor
    DjangoInstrumentor().uninstrument()
    PsycopgInstrumentor().uninstrument()
    _interceptor = None


def configure_from_settings() -> None:
    """Turn tracing on when `AURA_TRACING` is `otlp` (the default once an OTLP endpoint is set)."""
    if settings.AURA_TRACING != "otlp" or _interceptor is not None:
        return
    provider = otlp_provider()
    trace.set_tracer_provider(provider)
    configure(provider)


def client_interceptors() -> list[Interceptor]:
    """Return the tracing interceptor for a new Temporal client, or nothing when tracing is off."""
    return [_interceptor] if _interceptor is not None else []
