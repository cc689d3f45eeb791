"""Epoch scenarios of the history corpus (`manage.py record_histories --only epochs`).

Each drives an epoch through the services, as the API does (agents' own reports go to the
slice children through the client, as `aura_msg` sends them), so the histories hold the
`EpochWorkflow` with its `ReviewPhaseWorkflow` and `SliceWorkflow` children. An epoch left
mid-way is terminated once its children have reported: the corpus only holds closed runs.
"""

import time
from collections.abc import Callable

from django.test.utils import override_settings

from aura_site.temporal import get_client, run_sync
from epochs import services
from epochs.exceptions import MoveRefused
from epochs.inputs import EpochSnapshot, PhaseAdvanceSignal
from epochs.models import Epoch
from epochs.protocol import PhaseId, ReviewAxis, SliceCompleteSignal, SliceStatus, VoteType
from epochs.state_machine import REVIEW_PHASES
from epochs.workflows import EpochWorkflow, SliceWorkflow, slice_workflow_id
from workers.histories import ScenarioError, scenario

ACTOR = "record_histories"
FORWARD = [PhaseId(f"p{n}") for n in range(2, 13)] + [PhaseId.Complete]


def _start(name: str) -> Epoch:
    start = services.start_epoch(
        request_description=f"history scenario: {name}", epoch_id=f"epoch-{name}", actor=ACTOR
    )
    return start.record


def _vote_all(epoch: Epoch, vote: VoteType = VoteType.Accept) -> None:
    for axis in ReviewAxis:
        services.vote(epoch, axis=axis, vote=vote, actor=ACTOR)


def _drive_to(epoch: Epoch, target: PhaseId) -> None:
    """Advance along the forward path to `target`, all reviewers accepting on the way."""
    current = run_sync(_query(epoch.epoch_id)).state.current_phase
    for phase in FORWARD[FORWARD.index(current) + 1 if current in FORWARD else 0 :]:
        services.advance_epoch(epoch, to_phase=phase, actor=ACTOR)
        if phase == target:
            return
        if phase in REVIEW_PHASES:
            _vote_all(epoch)


def _refused(move: Callable[[], object]) -> None:
    try:
        move()
    except MoveRefused:
        return
    raise ScenarioError("a move the protocol refuses was accepted")


async def _query(epoch_id: str) -> EpochSnapshot:
    client = await get_client()
    return await client.get_workflow_handle(epoch_id).query(EpochWorkflow.snapshot)


def _until(epoch: Epoch, predicate: Callable[[EpochSnapshot], bool]) -> None:
    deadline = time.monotonic() + 30
    while not predicate(run_sync(_query(epoch.epoch_id))):
        if time.monotonic() > deadline:
            raise ScenarioError(f"epoch {epoch.epoch_id} never reached the expected state")
        time.sleep(0.05)


def _rounds_closed(snapshot: EpochSnapshot) -> bool:
    return all(review.status != "open" for review in snapshot.review_rounds)


async def _signal(workflow_id: str, signal: object, payload: object) -> None:
    await (await get_client()).get_workflow_handle(workflow_id).signal(signal, payload)


async def _terminate(epoch_id: str) -> None:
    handle = (await get_client()).get_workflow_handle(epoch_id)
    await handle.terminate(reason="history scenario recorded")


def _end(epoch: Epoch) -> str:
    """Terminate an epoch left mid-way once its review rounds have reported."""
    _until(epoch, _rounds_closed)
    run_sync(_terminate(epoch.epoch_id))
    return epoch.epoch_id


@scenario("epochs", "lifecycle")
def lifecycle() -> str:
    """All 12 phases to completion, with a session, a refused signal and two review rounds."""
    epoch = _start("lifecycle")
    services.register_session(epoch, session_id="sess-1", role="architect", actor=ACTOR)
    # A refused move sent as a signal (as `aura_msg` does) lands in the history.
    run_sync(
        _signal(epoch.epoch_id, EpochWorkflow.advance_phase, PhaseAdvanceSignal(PhaseId.P5_Uat))
    )
    _drive_to(epoch, PhaseId.Complete)
    return epoch.epoch_id


@scenario("epochs", "revise")
def revise() -> str:
    """A REVISE vote in p4 sends the epoch back to p3; the second review round accepts."""
    epoch = _start("revise")
    _drive_to(epoch, PhaseId.P4_Review)
    services.vote(epoch, axis=ReviewAxis.TestQuality, vote=VoteType.Revise, actor=ACTOR)
    _refused(lambda: services.advance_epoch(epoch, to_phase=PhaseId.P5_Uat, actor=ACTOR))
    services.advance_epoch(epoch, to_phase=PhaseId.P3_Propose, actor=ACTOR)
    services.advance_epoch(epoch, to_phase=PhaseId.P4_Review, actor=ACTOR)
    _vote_all(epoch)
    services.advance_epoch(epoch, to_phase=PhaseId.P5_Uat, actor=ACTOR)
    return _end(epoch)


@scenario("epochs", "blocker-gate")
def blocker_gate() -> str:
    """An open BLOCKER holds p10 → p11 until it is resolved."""
    epoch = _start("blocker-gate")
    _drive_to(epoch, PhaseId.P10_CodeReview)
    services.record_finding(epoch, blocker_id="b-1", severity="BLOCKER", actor=ACTOR)
    services.record_finding(epoch, blocker_id="m-1", severity="MINOR", actor=ACTOR)
    _vote_all(epoch)
    _refused(lambda: services.advance_epoch(epoch, to_phase=PhaseId.P11_ImplUat, actor=ACTOR))
    services.record_finding(
        epoch, blocker_id="b-1", severity="BLOCKER", resolved=True, actor=ACTOR
    )
    services.advance_epoch(epoch, to_phase=PhaseId.P11_ImplUat, actor=ACTOR)
    return _end(epoch)


@scenario("epochs", "slices")
def slices() -> str:
    """Two slices in p9: one finishes alone, one fails on its agent's report, is resubmitted
    and succeeds; the slice gate then lets the epoch into p10."""
    epoch = _start("slices")
    _drive_to(epoch, PhaseId.P8_ImplPlan)
    services.submit_slice(epoch, slice_id="s-quick", actor=ACTOR)
    services.submit_slice(epoch, slice_id="s-agent", await_completion=True, actor=ACTOR)
    services.advance_epoch(epoch, to_phase=PhaseId.P9_Slice, actor=ACTOR)
    agent = slice_workflow_id(epoch.epoch_id, "s-agent")

    def report(success: bool, status: SliceStatus) -> None:
        complete = SliceCompleteSignal("s-agent", success, error="" if success else "tests red")
        run_sync(_signal(agent, SliceWorkflow.complete_slice, complete))
        _until(epoch, lambda s: s.state.slices.get("s-agent") == status)

    _until(epoch, lambda s: s.state.slices.get("s-quick") == SliceStatus.Succeeded)
    report(False, SliceStatus.Failed)
    _refused(lambda: services.advance_epoch(epoch, to_phase=PhaseId.P10_CodeReview, actor=ACTOR))
    services.submit_slice(epoch, slice_id="s-agent", await_completion=True, actor=ACTOR)
    report(True, SliceStatus.Succeeded)
    services.advance_epoch(epoch, to_phase=PhaseId.P10_CodeReview, actor=ACTOR)
    _vote_all(epoch)
    return _end(epoch)


@scenario("epochs", "continue-as-new")
def continue_as_new() -> str:
    """A low AURA_EPOCH_CONTINUE_AS_NEW_AFTER: the epoch reaches completion over several runs."""
    with override_settings(AURA_EPOCH_CONTINUE_AS_NEW_AFTER=150):
        epoch = _start("continue-as-new")
    services.register_session(epoch, session_id="sess-1", role="architect", actor=ACTOR)
    _drive_to(epoch, PhaseId.Complete)
    return epoch.epoch_id
