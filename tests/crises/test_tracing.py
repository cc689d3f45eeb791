"""One trace from a REST request through Temporal (start, workflow, activities) to the SQL."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from rest_framework.test import APIClient
from temporalio.client import Client

from aura_site import temporal, tracing
from crises.activities import ACTIVITIES
from crises.workflows import CrisisResponseWorkflow
from tests.conftest import server_address, user_with

MISSIONS = [
    {"phase_id": "phase-1", "agent_id": "agent-1", "action": "recon", "target": "target-t"},
    {"phase_id": "phase-2", "agent_id": "agent-2", "action": "secure", "target": "target-t"},
]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Trace into memory, as production traces into OTLP, for this test only."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    yield exporter
    tracing.unconfigure()
    provider.shutdown()


def post(api: APIClient) -> Any:
    """Trigger a crisis on a thread of its own, so on a database connection opened after tracing
    was configured (production configures it at start-up, before any connection)."""
    try:
        return api.post(
            "/api/v1/crises/", {"target": "target-t", "missions": MISSIONS}, format="json"
        )
    finally:
        connections.close_all()


def only(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    matching = [span for span in spans if span.name == name]
    assert len(matching) == 1, (name, [span.name for span in spans])
    return matching[0]


def child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    return span.parent is not None and span.parent.span_id == parent.context.span_id


@pytest.mark.django_db(transaction=True)
async def test_a_crisis_trigger_is_one_connected_trace(
    exporter: InMemorySpanExporter,
    temporal_env: Any,
    crisis_settings: Any,
    task_queue: str,
    run_worker: Any,
    settings: Any,
) -> None:
    settings.TEMPORAL_ADDRESS = server_address(temporal_env.client)
    client: Client = await temporal.connect(settings.TEMPORAL_ADDRESS)
    temporal.set_client(client)
    user = await sync_to_async(user_with)("tracer", "crises.add_crisis", "crises.view_crisis")
    api = APIClient()
    await sync_to_async(api.force_authenticate)(user)
    try:
        # The worker is built on the traced client, as runworker builds it.
        async with run_worker(
            client, task_queue, workflows=[CrisisResponseWorkflow], activities=ACTIVITIES
        ):
            response = await asyncio.get_running_loop().run_in_executor(None, post, api)
            assert response.status_code == 201, response.content
            workflow_id = response.json()["workflow_id"]
            result = await client.get_workflow_handle(workflow_id).result()
            assert result["success"] is True
    finally:
        temporal.set_client(None)
        await sync_to_async(User.objects.filter(pk=user.pk).delete)()

    spans = list(exporter.get_finished_spans())
    request = next(
        span
        for span in spans
        if span.kind == SpanKind.SERVER and span.attributes.get("http.method") == "POST"
    )
    assert request.parent is None
    trace_id = request.context.trace_id
    in_trace = [span for span in spans if span.context.trace_id == trace_id]
    by_id = {span.context.span_id: span for span in in_trace}
    # A tree under the request: every other span's parent is in the same trace.
    assert all(span is request or span.parent.span_id in by_id for span in in_trace)

    start = only(in_trace, "StartWorkflow:CrisisResponseWorkflow")
    assert child_of(start, request)
    # temporalio's interceptor hangs the workflow's spans under the span that started it.
    assert child_of(only(in_trace, "RunWorkflow:CrisisResponseWorkflow"), start)
    assert child_of(only(in_trace, "CompleteWorkflow:CrisisResponseWorkflow"), start)
    for activity_type in ("validate_crisis_request", "initialize_crisis_response"):
        scheduled = only(in_trace, f"StartActivity:{activity_type}")
        executed = only(in_trace, f"RunActivity:{activity_type}")
        assert child_of(scheduled, start) and child_of(executed, scheduled)
    missions = [span for span in in_trace if span.name == "RunActivity:perform_agent_mission"]
    assert len(missions) == 2

    sql = [span for span in in_trace if span.attributes.get("db.system") == "postgresql"]
    # The request's own statements (the record, its audit event, the start intent) ...
    assert any(child_of(span, request) for span in sql)
    # ... and every activity's, under the activity that ran them.
    initialize = only(in_trace, "RunActivity:initialize_crisis_response")
    assert any(child_of(span, initialize) for span in sql)
    for mission in missions:
        assert any(child_of(span, mission) for span in sql)
