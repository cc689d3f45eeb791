"""EpochWorkflow and its children on a real Temporal dev server with a real worker and Postgres."""

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from audit.activities import UNINITIALIZED_MESSAGE, init_audit_trail
from audit.models import AuditEvent as AuditRow
from epochs.inputs import (
    BlockerSignal,
    EpochResult,
    PhaseAdvanceSignal,
    ReviewVoteSignal,
    SessionRegisterSignal,
    SliceSubmission,
)
from epochs.models import Epoch, EpochBlocker, EpochSession, EpochSlice, EpochTransition
from epochs.protocol import PhaseId, ReviewAxis, SliceCompleteSignal, SliceStatus, VoteType
from epochs.services import execute_update
from epochs.workflows import REFUSED, EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow

pytestmark = pytest.mark.django_db(transaction=True)

P = PhaseId
FORWARD = [P(f"p{n}") for n in range(2, 13)] + [P.Complete]
AXES = list(ReviewAxis)


async def advance(handle: WorkflowHandle, to: PhaseId, by: str = "test") -> None:
    await handle.signal(EpochWorkflow.advance_phase, PhaseAdvanceSignal(to, by, f"to {to}"))


async def vote_all(handle: WorkflowHandle, vote: VoteType = VoteType.Accept) -> None:
    for axis in AXES:
        await handle.signal(EpochWorkflow.submit_vote, ReviewVoteSignal(axis, vote, f"r-{axis}"))


async def search_attributes(handle: WorkflowHandle) -> dict[str, Any]:
    description = await handle.describe()
    pairs = description.typed_search_attributes.search_attributes
    return {pair.key.name: pair.value for pair in pairs if pair.key.name.startswith("Aura")}


async def audit_types(epoch_id: str) -> list[str]:
    return [
        row.event_type
        async for row in AuditRow.objects.for_subject("epoch", epoch_id).order_by("seq")
    ]


async def test_happy_path_with_consensus_votes(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        for phase in FORWARD:
            await advance(handle, phase)
            if phase in (P.P4_Review, P.P10_CodeReview):
                await vote_all(handle)
        result = await handle.result()

        # Both review children ran and reported an all-ACCEPT round.
        for phase in ("p4", "p10"):
            child = client.get_workflow_handle_for(
                ReviewPhaseWorkflow.run, f"{handle.id}-review-{phase}-1"
            )
            review = await child.result()
            assert review.success is True
            assert review.vote_result == dict.fromkeys(AXES, VoteType.Accept)

    assert result == EpochResult(
        epoch_id=handle.id,
        final_phase=P.Complete,
        transition_count=12,
        successful_transition_count=12,
        constraint_violations_total=2,  # the handoff reminders at p7→p8 and p9→p10
    )
    attributes = await search_attributes(handle)
    assert attributes == {
        "AuraEpochId": handle.id,
        "AuraPhase": "complete",
        "AuraRole": "epoch",
        "AuraStatus": "complete",
        "AuraDomain": "",
        "AuraLastEventType": "phase_transition",
    }
    epoch = await Epoch.objects.aget(epoch_id=handle.id)
    assert (epoch.current_phase, epoch.status) == ("complete", "complete")
    rows = [row async for row in EpochTransition.objects.filter(epoch=epoch).order_by("index")]
    assert [(r.from_phase, r.to_phase, r.success) for r in rows] == [
        (str(a), str(b), True) for a, b in zip([P.P1_Request, *FORWARD], FORWARD, strict=False)
    ]
    assert await epoch.votes.acount() == 6
    types = await audit_types(handle.id)
    assert types.count("phase_transition") == 12
    assert types.count("constraint_check") == 12
    assert types.count("vote_recorded") == 6
    assert types.count("review_round_completed") == 2


async def test_search_attributes_follow_each_transition(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        start = await _wait_for(handle, lambda a: "AuraPhase" in a)
        assert start == {
            "AuraEpochId": handle.id,
            "AuraPhase": "p1",
            "AuraRole": "epoch",
            "AuraStatus": "running",
            "AuraDomain": "user",
        }
        for phase, domain in [(P.P2_Elicit, "user"), (P.P3_Propose, "plan")]:
            await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(phase, "t", ""))
            attributes = await _wait_for(handle, lambda a, p=phase: a.get("AuraPhase") == p)
            assert attributes["AuraDomain"] == domain
            assert attributes["AuraLastEventType"] == "phase_transition"
        # A refused move upserts nothing.
        await advance(handle, P.P12_Landing)
        await _until(handle, lambda s: len(s.state.transition_history) == 3)
        assert (await search_attributes(handle))["AuraPhase"] == "p3"
        found = [
            w.id
            async for w in client.list_workflows(
                f"AuraEpochId = '{handle.id}' AND AuraPhase = 'p3' AND AuraStatus = 'running'"
            )
        ]
        # Visibility is eventually consistent: retry briefly.
        for _ in range(50):
            if found:
                break
            await asyncio.sleep(0.1)
            found = [
                w.id
                async for w in client.list_workflows(
                    f"AuraEpochId = '{handle.id}' AND AuraPhase = 'p3'"
                )
            ]
        assert found == [handle.id]
        await handle.terminate()


async def eventually(read, expected, attempts: int = 100) -> None:
    """Wait until the coroutine `read()` returns `expected` (rows land after the query)."""
    for _ in range(attempts):
        value = await read()
        if value == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{value!r} never became {expected!r}")


async def _wait_for(handle: WorkflowHandle, predicate, attempts: int = 100) -> dict[str, Any]:
    for _ in range(attempts):
        attributes = await search_attributes(handle)
        if predicate(attributes):
            return attributes
        await asyncio.sleep(0.05)
    raise AssertionError(f"search attributes never matched: {attributes}")


async def _until(handle: WorkflowHandle, predicate, attempts: int = 200):
    for _ in range(attempts):
        snapshot = await handle.query(EpochWorkflow.snapshot)
        if predicate(snapshot):
            return snapshot
        await asyncio.sleep(0.05)
    raise AssertionError(f"snapshot never matched: {snapshot}")


async def test_refused_signals_are_kept_in_history_and_never_fail_the_workflow(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        await advance(handle, P.P5_Uat, by="alice")  # not in the table from p1
        for phase in FORWARD[:3]:
            await advance(handle, phase)
        await handle.signal(
            EpochWorkflow.submit_vote, ReviewVoteSignal(ReviewAxis.Correctness, VoteType.Accept)
        )
        await advance(handle, P.P5_Uat, by="bob")  # consensus missing
        snapshot = await _until(handle, lambda s: len(s.state.transition_history) == 5)

        history = snapshot.state.transition_history
        assert [r.success for r in history] == [False, True, True, True, False]
        assert history[0].triggered_by == "alice"
        assert history[0].condition_met == (
            "FAILED: Transition <PhaseId.P1_Request: 'p1'> → <PhaseId.P5_Uat: 'p5'> is not in "
            "the transition table. Valid targets: ['p2']"
        )
        consensus = (
            "Consensus required for <PhaseId.P4_Review: 'p4'> → <PhaseId.P5_Uat: 'p5'>: all 3 "
            "axes (correctness, test_quality, elegance) must ACCEPT. Axes with votes: "
            "['correctness'], accepted: ['correctness']."
        )
        assert snapshot.state.last_error == consensus
        assert snapshot.state.current_phase == P.P4_Review
        assert snapshot.state.review_votes == {ReviewAxis.Correctness: VoteType.Accept}
        description = await handle.describe()
        assert description.status.name == "RUNNING"

        refused_rows = EpochTransition.objects.filter(epoch__epoch_id=handle.id, success=False)
        await eventually(lambda: refused_rows.acount(), 2)
        epoch = await Epoch.objects.aget(epoch_id=handle.id)
        assert epoch.last_error == consensus
        refused = [r async for r in refused_rows]
        assert [(r.index, r.triggered_by) for r in refused] == [(0, "alice"), (4, "bob")]
        types = await audit_types(handle.id)
        assert types.count("phase_advance") == 2
        await handle.terminate()


async def test_updates_refuse_illegal_moves_at_once_and_change_nothing(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(P.P3_Propose))
        assert caught.value.cause.type == REFUSED
        assert list(caught.value.cause.details[0]) == [
            "Transition <PhaseId.P1_Request: 'p1'> → <PhaseId.P3_Propose: 'p3'> is not in the "
            "transition table. Valid targets: ['p2']"
        ]
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(
                EpochWorkflow.vote, ReviewVoteSignal(ReviewAxis.Elegance, VoteType.Accept)
            )
        assert caught.value.cause.details[0] == [
            "Votes are only accepted in the review phases p4 and p10; the epoch is in p1."
        ]
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(EpochWorkflow.blocker, BlockerSignal("b-1", resolved=True))
        assert caught.value.cause.details[0] == ["Finding 'b-1' is not open."]

        snapshot = await handle.query(EpochWorkflow.snapshot)
        assert snapshot.state.transition_history == []
        assert snapshot.state.current_phase == P.P1_Request
        assert snapshot.state.last_error is None
        await handle.terminate()


async def _drive_to(handle: WorkflowHandle, target: PhaseId) -> None:
    """Advance through the forward path from wherever the epoch is, voting ACCEPT in reviews."""
    current = (await handle.query(EpochWorkflow.current_state)).current_phase
    path = FORWARD[FORWARD.index(current) + 1 :] if current != P.P1_Request else FORWARD
    for phase in path:
        # The service's helper: it retries an update that meets a continue-as-new.
        await execute_update(handle, EpochWorkflow.advance, PhaseAdvanceSignal(phase, "t", "c"))
        if phase == target:
            return
        if phase in (P.P4_Review, P.P10_CodeReview):
            for axis in AXES:
                await execute_update(
                    handle, EpochWorkflow.vote, ReviewVoteSignal(axis, VoteType.Accept)
                )


async def test_revise_loops_back_with_a_new_review_cycle(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        await _drive_to(handle, P.P4_Review)
        snapshot = await handle.execute_update(
            EpochWorkflow.vote, ReviewVoteSignal(ReviewAxis.TestQuality, VoteType.Revise, "r-2")
        )
        assert [t.to_phase for t in snapshot.available_transitions] == [P.P3_Propose]
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(P.P5_Uat))
        await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(P.P3_Propose))
        snapshot = await handle.execute_update(
            EpochWorkflow.advance, PhaseAdvanceSignal(P.P4_Review)
        )
        rounds = [(r.phase, r.cycle, r.status, r.workflow_id) for r in snapshot.review_rounds]
        assert rounds == [
            (P.P4_Review, 1, "superseded", f"{handle.id}-review-p4-1"),
            (P.P4_Review, 2, "open", f"{handle.id}-review-p4-2"),
        ]
        first = client.get_workflow_handle(f"{handle.id}-review-p4-1")
        for _ in range(100):
            if (await first.describe()).status.name == "CANCELED":
                break
            await asyncio.sleep(0.05)
        assert (await first.describe()).status.name == "CANCELED"
        for axis in AXES:
            await handle.execute_update(
                EpochWorkflow.vote, ReviewVoteSignal(axis, VoteType.Accept)
            )
        snapshot = await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(P.P5_Uat))
        assert snapshot.state.current_phase == P.P5_Uat
        second = await client.get_workflow_handle_for(
            ReviewPhaseWorkflow.run, f"{handle.id}-review-p4-2"
        ).result()
        assert second.success and second.cycle == 2
        snapshot = await _until(handle, lambda s: s.review_rounds[-1].status == "accepted")
        assert snapshot.review_rounds[-1].votes == dict.fromkeys(AXES, VoteType.Accept)
        votes = [v async for v in (await Epoch.objects.aget(epoch_id=handle.id)).votes.all()]
        assert [(v.cycle, v.axis, v.vote) for v in votes][0] == (1, "test_quality", "REVISE")
        assert {v.cycle for v in votes[1:]} == {2}
        await handle.terminate()


async def test_blocker_gate_at_code_review(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        await _drive_to(handle, P.P10_CodeReview)
        await handle.execute_update(
            EpochWorkflow.blocker, BlockerSignal("b-1", description="null deref")
        )
        await handle.signal(EpochWorkflow.record_blocker, BlockerSignal("m-1", severity="MINOR"))
        for axis in AXES:
            snapshot = await handle.execute_update(
                EpochWorkflow.vote, ReviewVoteSignal(axis, VoteType.Accept)
            )
        assert snapshot.state.blocker_count == 1
        assert snapshot.state.severity_groups["MINOR"] == {"m-1"}
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(P.P11_ImplUat))
        assert caught.value.cause.details[0] == [
            "BLOCKER gate for <PhaseId.P10_CodeReview: 'p10'> → <PhaseId.P11_ImplUat: 'p11'>: "
            "1 unresolved blocker(s) must be resolved first."
        ]
        await handle.execute_update(EpochWorkflow.blocker, BlockerSignal("b-1", resolved=True))
        snapshot = await handle.execute_update(
            EpochWorkflow.advance, PhaseAdvanceSignal(P.P11_ImplUat)
        )
        assert snapshot.state.current_phase == P.P11_ImplUat

    findings = {
        b.blocker_id: b async for b in EpochBlocker.objects.filter(epoch__epoch_id=handle.id)
    }
    assert findings["b-1"].resolved and findings["b-1"].description == "null deref"
    assert findings["m-1"].severity == "MINOR" and not findings["m-1"].resolved
    types = await audit_types(handle.id)
    assert types.count("blocker_recorded") == 2
    assert types.count("blocker_resolved") == 1
    await handle.terminate()


async def test_slices_run_as_children_and_gate_code_review(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        await _drive_to(handle, P.P8_ImplPlan)
        await handle.execute_update(EpochWorkflow.slice_update, SliceSubmission("s-quick"))
        await handle.execute_update(
            EpochWorkflow.slice_update, SliceSubmission("s-agent", await_completion=True)
        )
        snapshot = await handle.execute_update(
            EpochWorkflow.advance, PhaseAdvanceSignal(P.P9_Slice)
        )
        assert {s.slice_id: s.workflow_id for s in snapshot.slices} == {
            "s-quick": f"{handle.id}-slice-s-quick",
            "s-agent": f"{handle.id}-slice-s-agent",
        }
        await _until(handle, lambda s: s.state.slices["s-quick"] == SliceStatus.Succeeded)
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(
                EpochWorkflow.advance, PhaseAdvanceSignal(P.P10_CodeReview)
            )
        assert caught.value.cause.details[0] == [
            "Slice gate for <PhaseId.P9_Slice: 'p9'> → <PhaseId.P10_CodeReview: 'p10'>: "
            "1 slice(s) unfinished or failed: ['s-agent']."
        ]
        agent = client.get_workflow_handle_for(SliceWorkflow.run, f"{handle.id}-slice-s-agent")
        await agent.signal(
            SliceWorkflow.complete_slice, SliceCompleteSignal("s-agent", False, error="tests red")
        )
        assert (await agent.result()).error == "tests red"
        await _until(handle, lambda s: s.state.slices["s-agent"] == SliceStatus.Failed)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                EpochWorkflow.advance, PhaseAdvanceSignal(P.P10_CodeReview)
            )
        # A failed slice may be resubmitted; this time it reports success.
        await handle.execute_update(
            EpochWorkflow.slice_update, SliceSubmission("s-agent", await_completion=True)
        )
        await agent.signal(
            SliceWorkflow.complete_slice, SliceCompleteSignal("s-agent", True, "ok")
        )
        await _until(handle, lambda s: s.state.slices["s-agent"] == SliceStatus.Succeeded)
        snapshot = await handle.execute_update(
            EpochWorkflow.advance, PhaseAdvanceSignal(P.P10_CodeReview)
        )
        assert snapshot.state.current_phase == P.P10_CodeReview
        progress = await handle.query(EpochWorkflow.slice_progress_state)
        assert [(p.slice_id, p.completed) for p in progress] == [
            ("s-quick", True),
            ("s-agent", False),
            ("s-agent", True),
        ]

    rows = {s.slice_id: s async for s in EpochSlice.objects.filter(epoch__epoch_id=handle.id)}
    assert rows["s-agent"].status == "succeeded" and rows["s-agent"].output == "ok"
    assert rows["s-quick"].status == "succeeded"
    await handle.terminate()


async def test_sessions_register_once(temporal_env, epoch_worker, start_epoch, task_queue) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        first = SessionRegisterSignal(handle.id, "sess-1", "architect", "claude-code", "opus")
        await handle.signal(EpochWorkflow.register_session, first)
        await handle.signal(
            EpochWorkflow.register_session, SessionRegisterSignal(handle.id, "sess-1", "worker")
        )
        snapshot = await handle.execute_update(
            EpochWorkflow.session, SessionRegisterSignal(handle.id, "sess-2", "reviewer")
        )
        assert [s.session_id for s in snapshot.sessions] == ["sess-1", "sess-2"]
        assert (await handle.query(EpochWorkflow.active_sessions))[0] == first
        state = await handle.query(EpochWorkflow.full_state)
        assert state.active_session_count == 2
    rows = [s async for s in EpochSession.objects.filter(epoch__epoch_id=handle.id)]
    assert {(s.session_id, s.role) for s in rows} == {
        ("sess-1", "architect"),
        ("sess-2", "reviewer"),
    }
    await handle.terminate()


async def test_continue_as_new_carries_the_full_state(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client, continue_as_new_after=40)
        first_run = (await handle.describe()).run_id
        await advance(handle, P.P3_Propose)  # refused: kept in history across runs
        await handle.execute_update(
            EpochWorkflow.session, SessionRegisterSignal(handle.id, "sess-1", "architect")
        )
        await _drive_to(handle, P.P9_Slice)
        snapshot = await handle.query(EpochWorkflow.snapshot)
        assert snapshot.run_count > 1
        assert [s.session_id for s in snapshot.sessions] == ["sess-1"]
        assert snapshot.state.transition_history[0].success is False
        assert snapshot.state.completed_phases == {P(f"p{n}") for n in range(1, 9)}
        await _drive_to(handle, P.Complete)
        result = await handle.result()
        latest = await client.get_workflow_handle(handle.id).describe()
        first = await client.get_workflow_handle(handle.id, run_id=first_run).describe()

    assert latest.run_id != first_run
    assert first.status.name == "CONTINUED_AS_NEW"
    assert result.transition_count == 13
    assert result.successful_transition_count == 12
    assert result.constraint_violations_total == 2
    # Every transition was recorded once, whatever run it happened in.
    epoch = await Epoch.objects.aget(epoch_id=handle.id)
    assert await epoch.transitions.acount() == 13
    assert epoch.status == "complete"
    # A run never continues as new under a running handler: both rounds' ends are audited.
    assert (await audit_types(handle.id)).count("review_round_completed") == 2


async def test_uninitialised_audit_trail_fails_the_epoch_with_the_seed_message(
    temporal_env, epoch_worker, start_epoch, task_queue
) -> None:
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        init_audit_trail(None)
        handle = await start_epoch(client)
        await advance(handle, P.P2_Elicit)
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    # The audit activity's non-retryable ApplicationError fails the epoch (a local activity's
    # error is the workflow failure's direct cause).
    error = caught.value.cause
    while not isinstance(error, ApplicationError) and error is not None:
        error = error.cause
    assert error is not None and error.message == UNINITIALIZED_MESSAGE
    assert error.non_retryable is True


async def test_review_child_collects_votes_on_its_own(temporal_env, run_worker, task_queue):
    from epochs.inputs import ReviewInput

    client = temporal_env.client
    async with run_worker(client, task_queue, workflows=[ReviewPhaseWorkflow]):
        handle = await client.start_workflow(
            ReviewPhaseWorkflow.run,
            ReviewInput("e-x", "p10", 3),
            id=f"{task_queue}-r",
            task_queue=task_queue,
        )
        await handle.signal(
            ReviewPhaseWorkflow.submit_vote, ReviewVoteSignal(ReviewAxis.Elegance, VoteType.Accept)
        )
        await handle.signal(
            ReviewPhaseWorkflow.submit_vote,
            ReviewVoteSignal(ReviewAxis.Correctness, VoteType.Revise),
        )
        await handle.signal(
            ReviewPhaseWorkflow.submit_vote,
            ReviewVoteSignal(ReviewAxis.TestQuality, VoteType.Accept),
        )
        result = await handle.result()
    assert (result.phase_id, result.cycle, result.success) == ("p10", 3, False)
    assert result.vote_result[ReviewAxis.Correctness] == VoteType.Revise


async def test_command_slices_run_on_the_worker(
    temporal_env, epoch_worker, start_epoch, task_queue, settings
) -> None:
    settings.AURA_ALLOW_SLICE_COMMANDS = True
    client = temporal_env.client
    async with epoch_worker(client, task_queue):
        handle = await start_epoch(client)
        await _drive_to(handle, P.P8_ImplPlan)
        for slice_id, command in [("build", "echo built $AURA_SLICE_ID"), ("lint", "exit 2")]:
            await handle.execute_update(
                EpochWorkflow.slice_update,
                SliceSubmission(slice_id, mode="subprocess", command=command, timeout_seconds=20),
            )
        await handle.execute_update(EpochWorkflow.advance, PhaseAdvanceSignal(P.P9_Slice))
        snapshot = await _until(
            handle, lambda s: all(r.status in ("succeeded", "failed") for r in s.slices)
        )
        results = {r.slice_id: (r.status, r.output, r.error) for r in snapshot.slices}
        assert results == {
            "build": (SliceStatus.Succeeded, "built build\n", ""),
            "lint": (SliceStatus.Failed, "", "Command exited with code 2: "),
        }
        await handle.terminate()


def test_the_worker_serves_the_epoch_workflows_and_activities() -> None:
    from workers.registry import registered_queues

    (aura,) = [q for q in registered_queues() if q.key == "aura"]
    assert aura.name("aura") == "aura"
    assert {w.__name__ for w in aura.workflows} >= {
        "EpochWorkflow",
        "SliceWorkflow",
        "ReviewPhaseWorkflow",
    }
    names = {fn.__name__ for fn in aura.activities}
    assert names >= {
        "check_constraints",
        "record_transition",
        "record_audit_event",
        "query_audit_events",
        "execute_slice_command",
    }
