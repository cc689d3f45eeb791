"""Benchmark: a full 12-phase epoch with consensus votes, through the REST API + worker, against
the same request sequence on raw temporalio, measured in the same run on the same server.

    .venv/bin/python bench/epoch_lifecycle.py [--epochs N]

Ours: each step is a REST request (Django test client in-process: auth, serializer, service,
a validated Temporal update, then the response read back from Postgres); the worker runs
EpochWorkflow with its records in Postgres and the hash-chained audit trail.
Baselines, driven by the same sequence straight through the temporalio client:
- "origin's shape": a minimal raw-temporalio workflow (the pure state machine,
  check_constraints, a no-op record_transition and an in-memory audit trail), by updates
  (the target ratio) and by the origin's fire-and-forget signals plus the result;
- "same EpochWorkflow": ours, review children included, with no-op record activities and an
  in-memory audit trail: what Django, the REST layer and Postgres add to our own workflow.
All use a Temporal dev server started with the flags of the test fixtures.
"""

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")
os.environ.setdefault("AURA_LOG_LEVEL", "WARNING")  # no INFO line per transition

import dj_database_url  # noqa: E402
import django  # noqa: E402
from common import load_average, record, temporal_dev_server  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from rest_framework.test import APIClient  # noqa: E402
from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from audit.activities import init_audit_trail, record_audit_event  # noqa: E402
from audit.events import AuditEvent  # noqa: E402
from audit.trails import InMemoryAuditTrail, PostgresAuditTrail  # noqa: E402
from aura_site import devstack, temporal  # noqa: E402
from epochs.activities import ACTIVITIES, check_constraints, record_request  # noqa: E402
from epochs.constraints import RuntimeConstraintChecker  # noqa: E402
from epochs.inputs import (  # noqa: E402
    EpochInput,
    PhaseAdvanceSignal,
    RecordRequestInput,
    ReviewVoteSignal,
)
from epochs.protocol import PhaseId, ReviewAxis, VoteType  # noqa: E402
from epochs.search_attributes import DEFINITIONS  # noqa: E402
from epochs.state_machine import EpochState, EpochStateMachine, TransitionRecord  # noqa: E402
from epochs.workflows import EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow  # noqa: E402
from workers.conf import WorkerConfig  # noqa: E402
from workers.interceptors import DatabaseConnectionInterceptor  # noqa: E402
from workers.worker import workflow_runner  # noqa: E402

AXES = [axis.value for axis in ReviewAxis]
# (kind, value): the same sequence for ours and the baseline.
SEQUENCE: list[tuple[str, str]] = []
for number in range(2, 13):
    SEQUENCE.append(("advance", f"p{number}"))
    if number in (4, 10):
        SEQUENCE += [("vote", axis) for axis in AXES]
SEQUENCE.append(("advance", "complete"))


def message(kind: str, value: str) -> PhaseAdvanceSignal | ReviewVoteSignal:
    """Return the advance or vote a sequence step stands for."""
    if kind == "advance":
        return PhaseAdvanceSignal(PhaseId(value), "bench", "")
    return ReviewVoteSignal(ReviewAxis(value), VoteType.Accept, "bench")


# --- baseline: raw temporalio, the origin's shape --------------------------------------------


@activity.defn(name="check_constraints")
async def raw_check_constraints(state: EpochState, to_phase: PhaseId) -> int:
    return len(RuntimeConstraintChecker().check_transition(state, to_phase))


@activity.defn(name="record_transition")
async def raw_record_transition(record: TransitionRecord) -> None:
    activity.logger.debug("Transition recorded: %s -> %s", record.from_phase, record.to_phase)


def no_op_activity(name: str):
    @activity.defn(name=name)
    async def record(data: Any) -> None:
        return None

    return record


# EpochWorkflow's record activities, storing nothing.
RECORDS = ("transition", "vote", "blocker", "slice", "session")
NO_OP_RECORDS = [no_op_activity(f"record_{name}") for name in RECORDS]


@activity.defn(name="record_request")
async def record_request_no_rows(data: RecordRequestInput) -> list:
    """`record_request` storing no row: the same check, the events to the worker's trail."""
    return await record_request(dataclasses.replace(data, transition=None, vote=None))


# Unsandboxed (it lives in __main__, which the sandbox cannot re-import), as runworker runs
# our workflows by default.
@workflow.defn(name="RawEpochWorkflow", sandboxed=False)
class RawEpochWorkflow:
    """The origin's EpochWorkflow loop; `step` is an update that waits for its item."""

    def __init__(self) -> None:
        self.sm: EpochStateMachine | None = None
        self.pending: list[list] = []  # [item, processed?]
        self.violations = 0

    @workflow.run
    async def run(self, epoch_id: str) -> int:
        self.sm = EpochStateMachine(epoch_id)
        while self.sm.state.current_phase != PhaseId.Complete:
            await workflow.wait_condition(lambda: bool(self.pending))
            entry = self.pending.pop(0)
            await self.process(entry[0])
            entry[1] = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return len(self.sm.state.transition_history)

    async def process(self, item) -> None:
        if isinstance(item, ReviewVoteSignal):
            self.sm.record_vote(item.axis, item.vote)
            return
        self.violations += await workflow.execute_activity(
            raw_check_constraints,
            args=[self.sm.state, item.to_phase],
            start_to_close_timeout=timedelta(seconds=10),
        )
        before = self.sm.state.current_phase
        record = self.sm.advance(
            item.to_phase, triggered_by="bench", condition_met="", timestamp=workflow.now()
        )
        await workflow.execute_activity(
            raw_record_transition, record, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.execute_activity(
            "record_audit_event",
            AuditEvent(
                self.sm.state.epoch_id,
                "phase_transition",
                item.to_phase,
                "epoch",
                {"from": before, "to": item.to_phase},
            ),
            start_to_close_timeout=timedelta(seconds=10),
        )

    @workflow.signal
    def advance_phase(self, signal: PhaseAdvanceSignal) -> None:
        self.pending.append([signal, False])

    @workflow.signal
    def submit_vote(self, signal: ReviewVoteSignal) -> None:
        self.pending.append([signal, False])

    @workflow.update
    async def step(self, kind: str, value: str) -> None:
        entry = [message(kind, value), False]
        self.pending.append(entry)
        await workflow.wait_condition(lambda: entry[1])


async def baseline_updates(client, task_queue: str) -> float:
    handle = await client.start_workflow(
        RawEpochWorkflow.run, "raw", id=f"raw-{uuid.uuid4()}", task_queue=task_queue
    )
    started = time.perf_counter()
    for kind, value in SEQUENCE:
        await handle.execute_update(RawEpochWorkflow.step, args=[kind, value])
    assert await handle.result() == 12
    return time.perf_counter() - started


async def baseline_signals(client, task_queue: str) -> float:
    handle = await client.start_workflow(
        RawEpochWorkflow.run, "raw", id=f"raw-{uuid.uuid4()}", task_queue=task_queue
    )
    started = time.perf_counter()
    for kind, value in SEQUENCE:
        signal = (
            RawEpochWorkflow.advance_phase if kind == "advance" else RawEpochWorkflow.submit_vote
        )
        await handle.signal(signal, message(kind, value))
    assert await handle.result() == 12
    return time.perf_counter() - started


async def same_workflow_updates(client, task_queue: str) -> float:
    epoch_id = f"bare-{uuid.uuid4()}"
    handle = await client.start_workflow(
        EpochWorkflow.run, EpochInput(epoch_id, "bench"), id=epoch_id, task_queue=task_queue
    )
    started = time.perf_counter()
    for kind, value in SEQUENCE:
        update = EpochWorkflow.advance if kind == "advance" else EpochWorkflow.vote
        await handle.execute_update(update, message(kind, value))
    assert (await handle.result()).successful_transition_count == 12
    return time.perf_counter() - started


# --- ours: REST API + worker -----------------------------------------------------------------


def ours_sync(api: APIClient) -> float:
    response = api.post("/api/v1/epochs/", {"request_description": "bench"}, format="json")
    assert response.status_code == 201, response.content
    epoch_id = response.json()["epoch_id"]
    started = time.perf_counter()
    for kind, value in SEQUENCE:
        if kind == "advance":
            response = api.post(
                f"/api/v1/epochs/{epoch_id}/advance/", {"to_phase": value}, format="json"
            )
        else:
            response = api.post(
                f"/api/v1/epochs/{epoch_id}/votes/",
                {"axis": value, "vote": "ACCEPT"},
                format="json",
            )
        assert response.status_code == 200, response.content
    assert response.json()["status"] == "complete"
    return time.perf_counter() - started


async def main(epochs: int, load: list[float], address: str) -> None:
    client = await Client.connect(address)
    temporal.set_client(client)
    ours_queue, raw_queue = f"bench-{uuid.uuid4()}", f"bench-raw-{uuid.uuid4()}"
    bare_queue = f"bench-bare-{uuid.uuid4()}"
    settings.TEMPORAL_TASK_QUEUE = ours_queue
    user = await sync_to_async(User.objects.create_superuser)("bench", password="bench")
    api = APIClient()
    api.force_authenticate(user)
    try:
        # Our workflows run as runworker runs them by default; the baseline's is unsandboxed too.
        runner = workflow_runner(WorkerConfig())
        with ThreadPoolExecutor(max_workers=20) as executor:
            ours_worker = Worker(
                client,
                task_queue=ours_queue,
                workflows=[EpochWorkflow, SliceWorkflow, ReviewPhaseWorkflow],
                activities=[*ACTIVITIES, record_audit_event],
                activity_executor=executor,
                interceptors=[DatabaseConnectionInterceptor()],
                workflow_runner=runner,
            )
            raw_worker = Worker(
                client,
                task_queue=raw_queue,
                workflows=[RawEpochWorkflow],
                activities=[raw_check_constraints, raw_record_transition, record_audit_event],
            )
            bare_worker = Worker(
                client,
                task_queue=bare_queue,
                workflows=[EpochWorkflow, SliceWorkflow, ReviewPhaseWorkflow],
                activities=[
                    check_constraints,
                    record_request_no_rows,
                    *NO_OP_RECORDS,
                    record_audit_event,
                ],
                workflow_runner=runner,
            )
            async with ours_worker, raw_worker, bare_worker:
                ours, raw_updates, raw_signals, bare = [], [], [], []
                for attempt in range(epochs + 1):  # the first round warms up, not counted
                    init_audit_trail(InMemoryAuditTrail())
                    u = await baseline_updates(client, raw_queue)
                    s = await baseline_signals(client, raw_queue)
                    b = await same_workflow_updates(client, bare_queue)
                    init_audit_trail(PostgresAuditTrail())
                    o = await sync_to_async(ours_sync, thread_sensitive=True)(api)
                    if attempt:
                        ours.append(o)
                        raw_updates.append(u)
                        raw_signals.append(s)
                        bare.append(b)
    finally:
        temporal.set_client(None)

    steps = len(SEQUENCE)
    o, u, s, b = (statistics.median(x) for x in (ours, raw_updates, raw_signals, bare))
    print(f"epoch lifecycle: {steps} requests (12 transitions + 6 votes), median of {epochs}")
    for label, value in (
        ("ours (REST API + worker + Postgres)", o),
        ("origin's shape, raw updates", u),
        ("origin's shape, raw signals + result", s),
        ("same EpochWorkflow, raw updates", b),
    ):
        print(f"  {label:<38} {value * 1000:6.0f} ms ({value / steps * 1000:.0f}/req)")
    print(f"ratio ours / origin's shape, updates: {o / u:.2f}x (target <= 1.5x)")
    print(f"ratio ours / origin's shape, signals: {o / s:.2f}x")
    print(f"ratio ours / same workflow, no Django: {o / b:.2f}x")
    record(
        "epoch lifecycle",
        {
            "requests": steps,
            "epochs": epochs,
            "ours_ms": round(o * 1000),
            "raw_updates_ms": round(u * 1000),
            "raw_signals_ms": round(s * 1000),
            "same_workflow_no_django_ms": round(b * 1000),
            "ratio_vs_raw_updates": round(o / u, 2),
            "ratio_vs_raw_signals": round(o / s, 2),
            "ratio_vs_same_workflow": round(o / b, 2),
        },
        "ours / origin's shape (raw updates) <= 1.5x",
        o / u <= 1.5,
        load,
        f"ours {o * 1000:.0f} ms vs raw updates {u * 1000:.0f} ms: {o / u:.2f}x",
    )


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="measured epochs (default 5)")
    args = parser.parse_args()
    load = load_average()
    database = settings.DATABASES["default"]
    database["TEST"]["NAME"] = "test_aura_bench"
    database["CONN_MAX_AGE"] = 60  # as in production: connections are reused
    server = None
    if not os.environ.get("DATABASE_URL"):
        server = devstack.start_embedded_postgres(settings.STATE_DIR)
        parsed = dj_database_url.parse(server.get_uri())
        database["HOST"], database["OPTIONS"] = parsed["HOST"], parsed["OPTIONS"]
    setup_test_environment()  # the test client's "testserver" host, locmem mail
    old = setup_databases(verbosity=0, interactive=False)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="epoch-bench-") as tmpdir,
            temporal_dev_server(Path(tmpdir), DEFINITIONS) as address,
        ):
            asyncio.run(main(args.epochs, load, address))
    finally:
        from django.db import connection

        with connection.cursor() as cursor:  # activity threads may still hold connections
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(old, verbosity=0)
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    run()
