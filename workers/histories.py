"""The corpus of recorded workflow histories: its scenarios, how a run is saved, how it replays.

Each app declares its scenarios in a `histories.py` module (found by `autodiscover_modules`);
`manage.py record_histories` runs them against a real worker and saves what they ran, and
tests/workflows/test_replay.py replays every saved history against the current workflow code.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.module_loading import autodiscover_modules
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.worker import Replayer

from aura_site.temporal import data_converter
from workers.interceptors import worker_interceptors
from workers.registry import registered_queues

# How long a scenario's workflows may take to close once the scenario returns.
CLOSE_TIMEOUT = 60.0


class ScenarioError(Exception):
    """Raised when a scenario does not go as written or leaves a workflow running."""


@dataclass(frozen=True)
class Scenario:
    """One recorded situation: `run()` drives it and returns the workflow id to save."""

    group: str
    name: str
    run: Callable[[], str]


_scenarios: dict[tuple[str, str], Scenario] = {}


def scenario(group: str, name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register the decorated function as the scenario `name` of `group` (e.g. "crises")."""

    def register(run: Callable[[], str]) -> Callable[[], str]:
        _scenarios[(group, name)] = Scenario(group, name, run)
        return run

    return register


def scenarios(groups: list[str] | None = None) -> list[Scenario]:
    """Return the scenarios of `groups` (all when None), in the order they were declared."""
    autodiscover_modules("histories")
    return [s for s in _scenarios.values() if groups is None or s.group in groups]


def groups() -> list[str]:
    return list(dict.fromkeys(s.group for s in scenarios()))


async def _wait_closed(client: Client, workflow_id: str, run_id: str | None) -> None:
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    deadline = time.monotonic() + CLOSE_TIMEOUT
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        if time.monotonic() > deadline:
            raise ScenarioError(f"workflow {workflow_id} is still running after the scenario")
        await asyncio.sleep(0.1)


async def closed_histories(
    client: Client, workflow_id: str, run_id: str | None = None
) -> list[tuple[str, WorkflowHistory]]:
    """Return the histories of a closed execution: every run of its continue-as-new chain,
    then those of the children each run started (recursively), each with a stable label.

    The label of a chain of one run is "", of a longer chain "run-1", "run-2", ...; a child's is
    its workflow id without the parent's id in front ("review-p4-1"), with ".2", ".3", ... for
    a workflow id that ran again.
    """
    await _wait_closed(client, workflow_id, None)
    if run_id is None:
        description = await client.get_workflow_handle(workflow_id).describe()
        run_id = description.raw_description.workflow_execution_info.first_run_id
    runs: list[WorkflowHistory] = []
    while run_id:
        await _wait_closed(client, workflow_id, run_id)
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(history)
        run_id = ""
        last = history.events[-1]
        if last.HasField("workflow_execution_continued_as_new_event_attributes"):
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    labelled = [(f"run-{i}" if len(runs) > 1 else "", h) for i, h in enumerate(runs, start=1)]
    for history in runs:
        for event in history.events:
            if not event.HasField("child_workflow_execution_started_event_attributes"):
                continue
            child = event.child_workflow_execution_started_event_attributes.workflow_execution
            short = child.workflow_id.removeprefix(f"{workflow_id}-")
            for label, child_history in await closed_histories(
                client, child.workflow_id, child.run_id
            ):
                labelled.append((".".join(filter(None, [short, label])), child_history))
    return _unique(labelled)


def _unique(labelled: list[tuple[str, WorkflowHistory]]) -> list[tuple[str, WorkflowHistory]]:
    seen: dict[str, int] = {}
    unique = []
    for label, history in labelled:
        seen[label] = seen.get(label, 0) + 1
        unique.append((label if seen[label] == 1 else f"{label}.{seen[label]}", history))
    return unique


def write_histories(
    out: Path, scenario: Scenario, histories: list[tuple[str, WorkflowHistory]]
) -> list[Path]:
    """Write each history as `<out>/<group>/<scenario>[.<label>].json` (`to_json()` format)."""
    folder = out / scenario.group
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, history in histories:
        path = folder / f"{'.'.join(filter(None, [scenario.name, label]))}.json"
        path.write_text(history.to_json() + "\n")
        paths.append(path)
    return paths


def load_history(path: Path) -> WorkflowHistory:
    """Return a saved history, with the workflow id its start event names."""
    text = path.read_text()
    events = WorkflowHistory.from_json("", text).events
    workflow_id = events[0].workflow_execution_started_event_attributes.workflow_id
    return WorkflowHistory(workflow_id, events)


def corpus(root: Path) -> Iterator[Path]:
    """Return the saved histories under `root`, archived ones included, in a stable order."""
    return iter(sorted(root.rglob("*.json")))


def workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def replayer(workflows: list[type] | None = None) -> Replayer:
    """Return a replayer set up as the worker is: every registered workflow (or `workflows`),
    the worker's interceptors and data converter."""
    if workflows is None:
        workflows = list(
            dict.fromkeys(wf for queue in registered_queues() for wf in queue.workflows)
        )
    return Replayer(
        workflows=workflows, interceptors=worker_interceptors(), data_converter=data_converter()
    )
