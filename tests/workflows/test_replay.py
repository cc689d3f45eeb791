"""Every recorded history replays against the current workflow code (no server needed).

A change to a workflow that would break its running executions (new, removed or reordered
commands) fails here; see docs/upgrades.md for how to make such a change safely.
"""

import warnings
from pathlib import Path

import pytest
from temporalio.workflow import NondeterminismError, UnfinishedSignalHandlersWarning

from tests.workflows import edits
from workers.histories import corpus, load_history, replayer, workflow_type
from workers.registry import registered_queues

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
PATHS = list(corpus(HISTORIES))


def test_the_corpus_covers_every_workflow_the_worker_runs() -> None:
    recorded = {workflow_type(load_history(path)) for path in PATHS}
    served = {wf.__name__ for queue in registered_queues() for wf in queue.workflows}
    assert served <= recorded, f"no recorded history of {sorted(served - recorded)}"


@pytest.mark.parametrize("path", PATHS, ids=lambda path: str(path.relative_to(HISTORIES)))
async def test_every_recorded_history_replays(path: Path) -> None:
    history = load_history(path)
    assert history.workflow_id  # the start event names it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnfinishedSignalHandlersWarning)
        result = await replayer().replay_workflow(history)
    assert result.replay_failure is None
    # What the current code records never ends a run under a running handler (the archive
    # keeps one from before the continue-as-new-when-quiet patch that did).
    if "archive" not in path.relative_to(HISTORIES).parts:
        cut_off = [w for w in caught if issubclass(w.category, UnfinishedSignalHandlersWarning)]
        assert not cut_off, cut_off[0].message


EDITS = [
    ("crises/happy-path.json", edits.CrisisWithBriefing),
    ("crises/exhausted-phase.json", edits.CrisisLoggingFirst),
    ("epochs/lifecycle.review-p4-1.json", edits.ReviewWithCooldown),
]


@pytest.mark.parametrize(("path", "edited"), EDITS, ids=lambda v: getattr(v, "__name__", v))
async def test_an_incompatible_edit_is_caught(path: str, edited: type) -> None:
    history = load_history(HISTORIES / path)
    with pytest.raises(NondeterminismError):
        await replayer([edited]).replay_workflow(history)


PATCHED = [
    ("crises/happy-path.json", edits.CrisisWithPatchedBriefing),
    ("crises/exhausted-phase.json", edits.CrisisWithPatchedBriefing),
    ("epochs/lifecycle.review-p4-1.json", edits.ReviewWithPatchedCooldown),
]


@pytest.mark.parametrize(("path", "edited"), PATCHED, ids=lambda v: getattr(v, "__name__", v))
async def test_the_same_edit_behind_a_patch_replays(path: str, edited: type) -> None:
    result = await replayer([edited]).replay_workflow(load_history(HISTORIES / path))
    assert result.replay_failure is None
