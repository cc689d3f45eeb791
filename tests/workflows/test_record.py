"""`manage.py record_histories` and its scenarios, against real servers and PostgreSQL."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command
from temporalio.api.enums.v1 import EventType

from audit.activities import init_audit_trail, query_audit_events, record_audit_event
from audit.trails import PostgresAuditTrail
from audit.workflows import AuditLogWorkflow
from crises.activities import ACTIVITIES as CRISIS_ACTIVITIES
from crises.workflows import CrisisResponseWorkflow
from epochs.activities import ACTIVITIES as EPOCH_ACTIVITIES
from epochs.workflows import EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow
from workers.histories import Scenario, load_history, replayer, scenarios
from workers.recording import record_scenarios

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command("record_histories", *args, stdout=out)
    return out.getvalue()


def the(group: str, name: str) -> Scenario:
    (found,) = [s for s in scenarios([group]) if s.name == name]
    return found


record = sync_to_async(record_scenarios)


def last_event(path: Path) -> str:
    return EventType.Name(load_history(path).events[-1].event_type)


def test_dry_run_lists_every_scenario() -> None:
    out = run("--dry-run")
    assert out.splitlines() == [
        "audit/audit-log",
        "crises/happy-path",
        "crises/retried-phase",
        "crises/exhausted-phase",
        "crises/cancelled",
        "crises/scheduled-firing",
        "epochs/lifecycle",
        "epochs/revise",
        "epochs/blocker-gate",
        "epochs/slices",
        "epochs/continue-as-new",
        "11 scenarios (dry run: nothing recorded)",
    ]
    assert run("--dry-run", "--only", "crises").splitlines()[-1].startswith("5 scenarios")


def test_an_unknown_group_is_refused() -> None:
    with pytest.raises(CommandError, match="no scenarios in group 'nope'; groups: audit, crises"):
        run("--only", "nope")


async def test_a_crisis_is_saved_as_a_history_that_replays(
    temporal_settings: Any, run_worker: Any, task_queue: str, settings: Any, tmp_path: Path
) -> None:
    settings.CRISIS_TASK_QUEUE = task_queue
    lines: list[str] = []
    async with run_worker(
        temporal_settings,
        task_queue,
        workflows=[CrisisResponseWorkflow],
        activities=CRISIS_ACTIVITIES,
    ):
        written = await record([the("crises", "happy-path")], tmp_path, report=lines.append)
    assert written == [tmp_path / "crises" / "happy-path.json"]
    assert lines == ["crises/happy-path: happy-path.json"]
    history = load_history(written[0])
    assert history.workflow_id.startswith("crisis-workflow-crisis-alpha-")
    missions = [
        e
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == "perform_agent_mission"
    ]
    assert len(missions) == 4
    assert (await replayer().replay_workflow(history)).replay_failure is None


async def test_children_and_cancelled_rounds_are_saved_beside_their_epoch(
    temporal_settings: Any, run_worker: Any, task_queue: str, settings: Any, tmp_path: Path
) -> None:
    settings.TEMPORAL_TASK_QUEUE = task_queue
    init_audit_trail(PostgresAuditTrail())
    try:
        async with run_worker(
            temporal_settings,
            task_queue,
            workflows=[EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow],
            activities=[*EPOCH_ACTIVITIES, record_audit_event, query_audit_events],
        ):
            written = await record([the("epochs", "revise")], tmp_path, report=[].append)
    finally:
        init_audit_trail(None)
    assert [path.name for path in written] == [
        "revise.json",
        "revise.review-p4-1.json",
        "revise.review-p4-2.json",
    ]
    assert [last_event(path) for path in written] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED",  # the round the REVISE superseded
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    ]


async def test_each_run_of_a_continue_as_new_chain_is_saved(
    temporal_settings: Any, run_worker: Any, task_queue: str, settings: Any, tmp_path: Path
) -> None:
    settings.TEMPORAL_TASK_QUEUE = task_queue
    async with run_worker(temporal_settings, task_queue, workflows=[AuditLogWorkflow]):
        written = await record([the("audit", "audit-log")], tmp_path, report=[].append)
    assert [path.name for path in written] == ["audit-log.run-1.json", "audit-log.run-2.json"]
    assert [last_event(path) for path in written] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
        "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
    ]


def test_the_command_records_on_a_stack_of_its_own(tmp_path: Path) -> None:
    try:
        out = run("--only", "audit", "--out", str(tmp_path))
    finally:
        init_audit_trail(None)  # the worker's start-up gave the process a trail
    assert out.splitlines()[0] == "audit/audit-log: audit-log.run-1.json, audit-log.run-2.json"
    assert out.splitlines()[-1].startswith(
        f"Recorded 2 histories from 1 scenarios into {tmp_path}"
    )
    assert sorted(p.name for p in (tmp_path / "audit").iterdir()) == [
        "audit-log.run-1.json",
        "audit-log.run-2.json",
    ]
