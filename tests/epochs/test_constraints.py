from datetime import UTC, datetime

import pytest

from epochs.constraints import ConstraintViolation, RuntimeConstraintChecker
from epochs.protocol import PHASE_SPECS, PhaseId, ReviewAxis, SeverityLevel, VoteType
from epochs.state_machine import EpochState, EpochStateMachine, TransitionRecord

P = PhaseId
ACCEPT, REVISE = VoteType.Accept, VoteType.Revise
C, T, EL = ReviewAxis.Correctness, ReviewAxis.TestQuality, ReviewAxis.Elegance
ALL_ACCEPT = {C: ACCEPT, T: ACCEPT, EL: ACCEPT}
ALL_GROUPS = {level: set() for level in SeverityLevel}
WHEN = datetime(2026, 4, 1, tzinfo=UTC)
checker = RuntimeConstraintChecker()


def state_at(phase, votes=None, blockers=0, groups=None, history=None, role="epoch"):
    return EpochState(
        "e-1",
        phase,
        review_votes=dict(votes or {}),
        blocker_count=blockers,
        severity_groups=dict(ALL_GROUPS if groups is None else groups),
        transition_history=list(history or []),
        current_role=role,
    )


def ids(violations):
    return [v.constraint_id for v in violations]


def test_violation_context_defaults_to_an_empty_dict():
    assert ConstraintViolation("C-x", "msg").context == {}


@pytest.mark.parametrize(
    ("phase", "votes", "blockers", "to_phase", "expected"),
    [
        (P.P1_Request, {}, 0, P.P2_Elicit, []),
        (P.P4_Review, {}, 0, P.P5_Uat, ["C-review-consensus"]),
        (P.P4_Review, ALL_ACCEPT, 0, P.P5_Uat, []),
        (P.P4_Review, {}, 0, P.P3_Propose, []),
        (P.P5_Uat, {}, 0, P.P6_Ratify, []),
        (P.P6_Ratify, {}, 0, P.P7_Handoff, []),
        (P.P7_Handoff, {}, 0, P.P8_ImplPlan, ["C-handoff-skill-invocation"]),
        (P.P9_Slice, {}, 3, P.P10_CodeReview, ["C-handoff-skill-invocation"]),
        (P.P10_CodeReview, ALL_ACCEPT, 0, P.P11_ImplUat, []),
        (
            P.P10_CodeReview,
            {C: REVISE},
            2,
            P.P11_ImplUat,
            ["C-review-consensus", "C-worker-gates"],
        ),
        (P.P10_CodeReview, ALL_ACCEPT, 1, P.P11_ImplUat, ["C-worker-gates"]),
        (P.P10_CodeReview, {}, 1, P.P9_Slice, []),
        # Checks report, they do not validate the table: an illegal move is not their business.
        (P.P1_Request, {}, 0, P.P12_Landing, []),
    ],
)
def test_check_transition(phase, votes, blockers, to_phase, expected):
    assert ids(checker.check_transition(state_at(phase, votes, blockers), to_phase)) == expected


def test_happy_path_yields_exactly_the_two_handoff_reminders():
    sm = EpochStateMachine("e-1")
    total = 0
    while sm.state.current_phase != P.Complete:
        forward = PHASE_SPECS[sm.state.current_phase].transitions[0].to_phase
        if sm.state.current_phase in (P.P4_Review, P.P10_CodeReview):
            for axis in ReviewAxis:
                sm.record_vote(axis, ACCEPT)
        total += len(checker.check_transition(sm.state, forward))
        sm.advance(forward, triggered_by="t", condition_met="c", timestamp=WHEN)
    assert total == 2


def test_review_consensus_message_and_context():
    [violation] = checker.check_review_consensus(
        state_at(P.P10_CodeReview, {EL: ACCEPT, C: REVISE})
    )
    assert violation.message == (
        "Phase 'p10' requires all 3 axes (correctness, test_quality, elegance) to ACCEPT before "
        "proceeding. Accepted: ['elegance'], REVISE: ['correctness'], not voted: ['test_quality']."
    )
    assert violation.context == {
        "phase": "p10",
        "accepted": "elegance",
        "revise": "correctness",
        "not_voted": "test_quality",
    }


def test_handoff_reminder_message_and_context():
    [violation] = checker.check_handoff_required(P.P7_Handoff, P.P8_ImplPlan)
    assert violation.message == (
        "Transition 'p7' → 'p8' requires a handoff document and the receiving agent's prompt "
        "MUST start with Skill(/aura:{role}). Store handoff at .git/.aura/handoff/{request-id}/."
    )
    assert violation.context == {"from_phase": "p7", "to_phase": "p8"}


def test_blocker_gate_message_and_context():
    [violation] = checker.check_blocker_gate(state_at(P.P10_CodeReview, blockers=2))
    assert violation.message == (
        "Phase p10 has 2 unresolved BLOCKER(s). "
        "All BLOCKERs must be resolved before advancing to p11 (Impl UAT)."
    )
    assert violation.context == {"phase": "p10", "blocker_count": "2"}


@pytest.mark.parametrize("phase", [P.P9_Slice, P.P11_ImplUat])
def test_blocker_gate_only_applies_in_code_review(phase):
    assert checker.check_blocker_gate(state_at(phase, blockers=4)) == []


def recorded(triggered_by="t", condition_met="c", success=True):
    return TransitionRecord(P.P1_Request, P.P2_Elicit, WHEN, triggered_by, condition_met, success)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (state_at(P.P1_Request), []),
        (state_at(P.P2_Elicit, history=[recorded()]), []),
        (state_at(P.P2_Elicit), ["C-audit-never-delete"]),
        (state_at(P.Complete), []),
        (
            state_at(P.P4_Review, history=[recorded()]),
            ["C-review-consensus", "C-severity-not-plan"],
        ),
        (state_at(P.P4_Review, ALL_ACCEPT, history=[recorded()]), ["C-severity-not-plan"]),
        (state_at(P.P10_CodeReview, ALL_ACCEPT, history=[recorded()]), []),
        (
            state_at(P.P10_CodeReview, ALL_ACCEPT, blockers=1, groups={}),
            ["C-severity-eager", "C-worker-gates", "C-audit-never-delete"],
        ),
        (
            state_at(P.P3_Propose, history=[recorded(triggered_by=""), recorded("", "")]),
            ["C-audit-dep-chain", "C-audit-dep-chain", "C-audit-dep-chain"],
        ),
        (
            state_at(P.P2_Elicit, history=[recorded()], role="janitor"),
            ["C-vertical-slices"],
        ),
    ],
)
def test_check_state_runs_every_check_in_order(state, expected):
    assert ids(checker.check_state(state)) == expected


def test_severity_not_plan_message():
    [violation] = checker.check_severity_tree(state_at(P.P4_Review))
    assert violation.message == (
        "Phase p4 (plan review) must NOT use severity trees. Plan reviews use binary "
        "ACCEPT/REVISE only. Severity trees are for p10 code review only."
    )
    assert violation.context == {"phase": "p4"}


def test_severity_eager_context():
    groups = {SeverityLevel.Blocker: {"b-1"}}
    [violation] = checker.check_severity_tree(state_at(P.P10_CodeReview, groups=groups))
    assert violation.constraint_id == "C-severity-eager"
    assert "Missing: ['IMPORTANT', 'MINOR']." in violation.message
    assert violation.context == {
        "phase": "p10",
        "missing_severity_levels": "IMPORTANT,MINOR",
        "present_count": "1",
    }


def test_audit_trail_messages_and_context():
    state = state_at(P.P3_Propose, history=[recorded(), recorded(condition_met="")])
    [violation] = checker.check_audit_trail(state)
    assert violation.message == (
        "Transition record #1 ('p1' → 'p2') is missing 'condition_met'. "
        "All transitions must record the condition that was satisfied."
    )
    assert violation.context == {"record_index": "1", "from_phase": "p1", "to_phase": "p2"}

    [violation] = checker.check_audit_trail(state_at(P.P5_Uat))
    assert violation.message == (
        "State is at phase 'p5' but transition_history is empty. "
        "Audit trail must never be deleted or cleared."
    )
    assert violation.context == {"phase": "p5", "transition_history_length": "0"}


def test_unknown_role_message():
    [violation] = checker.check_role_ownership(state_at(P.P1_Request, role="janitor"))
    assert violation.message == (
        "Unknown role 'janitor'. Valid roles are: "
        "['architect', 'epoch', 'reviewer', 'supervisor', 'worker']."
    )
    assert violation.context == {"current_role": "janitor", "phase": "p1"}
