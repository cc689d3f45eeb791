"""Scale-out: two `runworker` processes share the crisis queue, and one dying loses nothing."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from temporalio.client import Client

from audit.models import AuditEvent
from crises import services
from crises.models import Crisis, CrisisPhase, CrisisStatus, PhaseStatus
from tests.conftest import database_url, server_address

ROOT = Path(__file__).resolve().parents[2]
CRISES = 20
ACTIONS = ["recon", "secure", "extract"]
# Each mission takes 1.5 s, so every crisis has missions in flight for ~4.5 s.
SCRIPT = {action: {"delay": 1.5} for action in ACTIONS}


class RunworkerProcess:
    """A `manage.py runworker` child process against the test database, logging to a file."""

    def __init__(self, log_path: Path, env: dict[str, str], *args: str) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runworker", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.actor = f"worker:{self.process.pid}@{socket.gethostname()}"

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    async def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged; log:\n{self.log}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def actors_of(crisis: Crisis) -> set[str]:
    events = AuditEvent.objects.filter(subject_id=crisis.crisis_id, actor__startswith="worker:")
    return {actor async for actor in events.values_list("actor", flat=True)}


@pytest.mark.django_db(transaction=True)
async def test_two_workers_share_crises_and_a_killed_one_loses_nothing(
    temporal_settings: Client, settings: Any, task_queue: str, tmp_path: Path
) -> None:
    settings.CRISIS_TASK_QUEUE = task_queue
    env = {
        **os.environ,
        "DATABASE_URL": await sync_to_async(database_url)(),
        "TEMPORAL_ADDRESS": server_address(temporal_settings),
        "TEMPORAL_NAMESPACE": temporal_settings.namespace,
        "CRISIS_TASK_QUEUE": task_queue,
        "CRISIS_AGENT_DISPATCHER": "scripted",
        "CRISIS_AGENT_SCRIPT": json.dumps(SCRIPT),
        "AURA_LOG_LEVEL": "INFO",
    }
    only = ["--only", task_queue]
    workers = [RunworkerProcess(tmp_path / f"worker-{n}.log", env, *only) for n in (1, 2)]
    try:
        for worker in workers:
            await worker.wait_for_log("Worker running")
        missions = services.cli_missions("target-scale", ACTIONS)
        trigger = sync_to_async(services.trigger_crisis)
        crises = [
            (await trigger(target="target-scale", missions=missions)).record for _ in range(CRISES)
        ]

        # Kill one worker once it has recorded phases of crises that are still running.
        victim, survivor = workers
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, victim.log[-3000:]
            caught = AuditEvent.objects.filter(
                actor=victim.actor, event_type="phase_completed", subject_kind="crisis"
            ).values_list("subject_id", flat=True)
            in_flight = Crisis.objects.filter(
                crisis_id__in=[c async for c in caught], status=CrisisStatus.RUNNING
            )
            if await in_flight.acount() >= 2:
                break
            await asyncio.sleep(0.1)
        interrupted = [crisis async for crisis in in_flight]
        victim.process.send_signal(signal.SIGKILL)
        assert victim.process.wait(10) == -signal.SIGKILL

        deadline = time.monotonic() + 45
        ids = [crisis.crisis_id for crisis in crises]
        while await Crisis.objects.filter(
            crisis_id__in=ids, status__in=["initiated", "running"]
        ).aexists():
            assert time.monotonic() < deadline, survivor.log[-3000:]
            await asyncio.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop()

    # Every crisis completed, each phase exactly once.
    finished = Crisis.objects.filter(crisis_id__in=ids)
    assert [c.status async for c in finished] == [CrisisStatus.COMPLETED] * CRISES
    phases = CrisisPhase.objects.filter(crisis__crisis_id__in=ids)
    rows = Counter([(p.crisis_id, p.phase_id) async for p in phases])
    assert len(rows) == CRISES * len(ACTIONS) and set(rows.values()) == {1}
    assert {p.status async for p in phases} == {PhaseStatus.COMPLETED}
    # The missions the dead worker was running were retried on the survivor.
    assert await phases.filter(attempts__gte=2).aexists()

    # One audit event per step per crisis: no retry recorded anything twice.
    for crisis in crises:
        events = AuditEvent.objects.filter(subject_kind="crisis", subject_id=crisis.crisis_id)
        steps = Counter([(e.event_type, e.phase) async for e in events])
        assert steps == {
            ("crisis_triggered", ""): 1,
            **{("phase_completed", f"phase-{i}"): 1 for i in range(1, len(ACTIONS) + 1)},
            ("crisis_finalized", ""): 1,
        }, (crisis.crisis_id, steps)

    # Both workers took work, and the survivor finished what the victim had started.
    worker_actors = set()
    for crisis in crises:
        worker_actors |= await actors_of(crisis)
    assert worker_actors == {victim.actor, survivor.actor}
    for crisis in interrupted:
        assert await actors_of(crisis) == {victim.actor, survivor.actor}, crisis.crisis_id

    out = StringIO()
    await sync_to_async(call_command)("verify_audit", stdout=out)
    assert "Audit chain intact" in out.getvalue()
