import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epochs.protocol import (
    PHASE_SPECS,
    Domain,
    PhaseId,
    PhaseSpec,
    ReviewAxis,
    SeverityLevel,
    SliceStatus,
    Transition,
    VoteType,
)
from epochs.state_machine import (
    BLOCKER_GATED,
    CONSENSUS_GATED,
    SLICE_GATED,
    EpochState,
    EpochStateMachine,
    TransitionError,
)

P = PhaseId
ACCEPT, REVISE = VoteType.Accept, VoteType.Revise
C, T, EL = ReviewAxis.Correctness, ReviewAxis.TestQuality, ReviewAxis.Elegance
ALL_ACCEPT = {C: ACCEPT, T: ACCEPT, EL: ACCEPT}
WHEN = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
FORWARD_PATH = [P(f"p{n}") for n in range(2, 13)] + [P.Complete]


def machine_at(phase, votes=None, blocker_count=0):
    state = EpochState("e-1", phase, review_votes=dict(votes or {}), blocker_count=blocker_count)
    return EpochStateMachine.from_state(state)


def walk(sm, *targets):
    """Advance along `targets`, casting three ACCEPTs wherever a consensus gate needs them."""
    for target in targets:
        if (sm.state.current_phase, target) in CONSENSUS_GATED:
            for axis in ReviewAxis:
                sm.record_vote(axis, ACCEPT)
        sm.advance(target, triggered_by="test", condition_met="ok", timestamp=WHEN)


def test_initial_state():
    sm = EpochStateMachine("e-1")
    assert sm.state == EpochState(epoch_id="e-1", current_phase=P.P1_Request)
    assert sm.state.current_role == "epoch"
    assert sm.state.last_error is None


@pytest.mark.parametrize(
    ("phase", "votes", "blockers", "expected"),
    [
        (P.P1_Request, {}, 0, [P.P2_Elicit]),
        (P.P4_Review, {}, 0, [P.P3_Propose]),
        (P.P4_Review, {C: ACCEPT, T: ACCEPT}, 0, [P.P3_Propose]),
        (P.P4_Review, ALL_ACCEPT, 0, [P.P5_Uat, P.P3_Propose]),
        (P.P4_Review, {C: ACCEPT, T: ACCEPT, EL: REVISE}, 0, [P.P3_Propose]),
        (P.P5_Uat, {}, 0, [P.P6_Ratify, P.P3_Propose]),
        (P.P9_Slice, {}, 2, [P.P10_CodeReview]),
        (P.P10_CodeReview, {}, 0, [P.P9_Slice]),
        (P.P10_CodeReview, ALL_ACCEPT, 0, [P.P11_ImplUat, P.P9_Slice]),
        (P.P10_CodeReview, ALL_ACCEPT, 1, [P.P9_Slice]),
        (P.P10_CodeReview, {C: REVISE}, 0, [P.P9_Slice]),
        (P.P11_ImplUat, {}, 3, [P.P12_Landing, P.P9_Slice]),
        (P.P12_Landing, {}, 0, [P.Complete]),
        (P.Complete, ALL_ACCEPT, 0, []),
    ],
)
def test_available_transitions(phase, votes, blockers, expected):
    sm = machine_at(phase, votes, blockers)
    assert [t.to_phase for t in sm.available_transitions] == expected


def test_available_transitions_keep_the_table_entries():
    sm = machine_at(P.P4_Review, ALL_ACCEPT)
    assert sm.available_transitions == list(PHASE_SPECS[P.P4_Review].transitions)


CONSENSUS_P4 = (
    "Consensus required for <PhaseId.P4_Review: 'p4'> → <PhaseId.P5_Uat: 'p5'>: all 3 axes "
    "(correctness, test_quality, elegance) must ACCEPT. "
)
CONSENSUS_P10 = (
    "Consensus required for <PhaseId.P10_CodeReview: 'p10'> → <PhaseId.P11_ImplUat: 'p11'>: "
    "all 3 axes (correctness, test_quality, elegance) must ACCEPT. "
)
BLOCKER_P10 = (
    "BLOCKER gate for <PhaseId.P10_CodeReview: 'p10'> → <PhaseId.P11_ImplUat: 'p11'>: "
    "2 unresolved blocker(s) must be resolved first."
)


@pytest.mark.parametrize(
    ("phase", "votes", "blockers", "to_phase", "expected"),
    [
        (
            P.Complete,
            {},
            0,
            P.P1_Request,
            ["Epoch is already COMPLETE; no further transitions are possible."],
        ),
        (
            P.P1_Request,
            {},
            0,
            P.P3_Propose,
            [
                "Transition <PhaseId.P1_Request: 'p1'> → <PhaseId.P3_Propose: 'p3'> is not in "
                "the transition table. Valid targets: ['p2']"
            ],
        ),
        (
            P.P4_Review,
            ALL_ACCEPT,
            0,
            P.P6_Ratify,
            [
                "Transition <PhaseId.P4_Review: 'p4'> → <PhaseId.P6_Ratify: 'p6'> is not in "
                "the transition table. Valid targets: ['p3', 'p5']"
            ],
        ),
        (
            P.P4_Review,
            {},
            0,
            P.P5_Uat,
            [CONSENSUS_P4 + "Axes with votes: [], accepted: []."],
        ),
        (
            P.P4_Review,
            {EL: REVISE, C: ACCEPT},
            0,
            P.P5_Uat,
            [
                CONSENSUS_P4
                + "Axes with votes: ['correctness', 'elegance'], accepted: ['correctness']."
            ],
        ),
        (
            P.P10_CodeReview,
            {T: ACCEPT},
            2,
            P.P11_ImplUat,
            [
                CONSENSUS_P10 + "Axes with votes: ['test_quality'], accepted: ['test_quality'].",
                BLOCKER_P10,
            ],
        ),
        (P.P10_CodeReview, ALL_ACCEPT, 2, P.P11_ImplUat, [BLOCKER_P10]),
        (P.P10_CodeReview, ALL_ACCEPT, 0, P.P11_ImplUat, []),
        # Going back needs no REVISE and ignores blockers.
        (P.P4_Review, {}, 0, P.P3_Propose, []),
        (P.P4_Review, ALL_ACCEPT, 0, P.P3_Propose, []),
        (P.P10_CodeReview, {}, 5, P.P9_Slice, []),
    ],
)
def test_validate_advance(phase, votes, blockers, to_phase, expected):
    assert machine_at(phase, votes, blockers).validate_advance(to_phase) == expected


def test_validate_advance_without_a_spec_for_the_current_phase():
    specs = {P.P1_Request: PHASE_SPECS[P.P1_Request]}
    sm = EpochStateMachine.from_state(EpochState("e-1", P.P2_Elicit), specs)
    assert sm.validate_advance(P.P3_Propose) == [
        "Current phase <PhaseId.P2_Elicit: 'p2'> has no spec in the transition table."
    ]
    assert sm.available_transitions == []


def test_advance_records_and_moves():
    sm = EpochStateMachine("e-1")
    sm.record_vote(C, ACCEPT)
    sm.record_blocker()
    sm.state.last_error = "earlier failure"

    record = sm.advance(
        P.P2_Elicit, triggered_by="architect", condition_met="done", timestamp=WHEN
    )

    assert (record.from_phase, record.to_phase, record.timestamp) == (
        P.P1_Request,
        P.P2_Elicit,
        WHEN,
    )
    assert (record.triggered_by, record.condition_met, record.success) == (
        "architect",
        "done",
        True,
    )
    assert sm.state.current_phase == P.P2_Elicit
    assert sm.state.completed_phases == {P.P1_Request}
    assert sm.state.transition_history == [record]
    assert sm.state.review_votes == {}
    assert sm.state.last_error is None
    assert sm.state.blocker_count == 1


def test_advance_defaults_to_an_aware_utc_timestamp():
    before = datetime.now(UTC)
    record = EpochStateMachine("e-1").advance(P.P2_Elicit, triggered_by="a", condition_met="b")
    assert before <= record.timestamp <= datetime.now(UTC)
    assert record.timestamp.tzinfo is UTC


def test_advance_accepts_the_raw_phase_value():
    record = EpochStateMachine("e-1").advance("p2", triggered_by="a", condition_met="b")
    assert record.to_phase is P.P2_Elicit


def test_happy_path_reaches_complete():
    sm = EpochStateMachine("e-1")
    walk(sm, *FORWARD_PATH)
    assert sm.state.current_phase == P.Complete
    assert sm.state.completed_phases == set(PHASE_SPECS)
    assert [r.to_phase for r in sm.state.transition_history] == FORWARD_PATH
    assert sm.available_transitions == []


@pytest.mark.parametrize(
    ("path", "review", "back"),
    [
        (FORWARD_PATH[:3], P.P4_Review, P.P3_Propose),
        (FORWARD_PATH[:9], P.P10_CodeReview, P.P9_Slice),
    ],
)
def test_revise_sends_review_back(path, review, back):
    sm = EpochStateMachine("e-1")
    walk(sm, *path)
    assert sm.state.current_phase == review
    sm.record_vote(C, ACCEPT)
    sm.record_vote(T, ACCEPT)
    sm.record_vote(EL, REVISE)
    assert [t.to_phase for t in sm.available_transitions] == [back]
    sm.advance(back, triggered_by="reviewer", condition_met="any reviewer votes REVISE")
    assert sm.state.current_phase == back
    assert sm.state.review_votes == {}


def test_failed_advance_raises_and_leaves_state_untouched():
    sm = EpochStateMachine("e-1")
    walk(sm, P.P2_Elicit, P.P3_Propose, P.P4_Review)
    sm.record_vote(C, ACCEPT)
    before = copy.deepcopy(sm.state)

    with pytest.raises(TransitionError) as excinfo:
        sm.advance(P.P5_Uat, triggered_by="x", condition_met="y")

    assert excinfo.value.violations == sm.validate_advance(P.P5_Uat)
    assert len(excinfo.value.violations) == 1
    assert str(excinfo.value) == excinfo.value.violations[0]
    assert sm.state == before


def test_transition_error_joins_violations():
    assert str(TransitionError(["a", "b"])) == "a; b"


def test_record_failed_attempt_logs_without_moving():
    sm = machine_at(P.P10_CodeReview, {C: REVISE}, blocker_count=2)
    error = TransitionError(sm.validate_advance(P.P11_ImplUat))

    record = sm.record_failed_attempt(P.P11_ImplUat, error, triggered_by="cli", timestamp=WHEN)

    assert record.success is False
    assert record.condition_met == f"FAILED: {error}"
    assert (record.from_phase, record.to_phase, record.timestamp) == (
        P.P10_CodeReview,
        P.P11_ImplUat,
        WHEN,
    )
    assert sm.state.transition_history == [record]
    assert sm.state.last_error == str(error)
    assert sm.state.current_phase == P.P10_CodeReview
    assert sm.state.review_votes == {C: REVISE}
    # A later success clears the error.
    sm.advance(P.P9_Slice, triggered_by="cli", condition_met="REVISE")
    assert sm.state.last_error is None


def test_entering_code_review_creates_all_severity_groups_once():
    sm = EpochStateMachine("e-1")
    walk(sm, *FORWARD_PATH[:8])
    assert sm.state.severity_groups == {}
    walk(sm, P.P10_CodeReview)
    assert sm.state.severity_groups == {level: set() for level in SeverityLevel}

    sm.record_blocker("b-1")
    sm.record_blocker("m-1", severity=SeverityLevel.Minor)
    walk(sm, P.P9_Slice, P.P10_CodeReview)
    assert sm.state.severity_groups == {
        SeverityLevel.Blocker: {"b-1"},
        SeverityLevel.Important: set(),
        SeverityLevel.Minor: {"m-1"},
    }


def test_entering_code_review_keeps_findings_filed_earlier():
    sm = EpochStateMachine("e-1")
    walk(sm, *FORWARD_PATH[:8])
    sm.record_blocker("b-1")
    walk(sm, P.P10_CodeReview)
    assert sm.state.severity_groups == {
        SeverityLevel.Blocker: {"b-1"},
        SeverityLevel.Important: set(),
        SeverityLevel.Minor: set(),
    }


def test_record_vote_accepts_raw_values_and_last_vote_wins():
    sm = EpochStateMachine("e-1")
    sm.record_vote("elegance", "REVISE")
    sm.record_vote(EL, ACCEPT)
    assert sm.state.review_votes == {EL: ACCEPT}
    assert type(next(iter(sm.state.review_votes))) is ReviewAxis


@pytest.mark.parametrize(
    ("axis", "vote", "message"),
    [
        (
            "A",
            ACCEPT,
            "Invalid review axis 'A'. Must be one of ['correctness', 'elegance', 'test_quality'].",
        ),
        (C, "APPROVE", "Invalid vote 'APPROVE'. Must be one of ['ACCEPT', 'REVISE']."),
    ],
)
def test_record_vote_rejects_unknown_values(axis, vote, message):
    sm = EpochStateMachine("e-1")
    with pytest.raises(ValueError) as excinfo:
        sm.record_vote(axis, vote)
    assert str(excinfo.value) == message
    assert sm.state.review_votes == {}


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ({}, False),
        ({C: ACCEPT, T: ACCEPT}, False),
        ({C: ACCEPT, T: ACCEPT, EL: REVISE}, False),
        (ALL_ACCEPT, True),
    ],
)
def test_has_consensus(votes, expected):
    assert machine_at(P.P4_Review, votes).has_consensus() is expected


def test_anonymous_blockers_only_move_the_count_and_never_go_negative():
    sm = EpochStateMachine("e-1")
    assert sm.record_blocker() is True
    assert sm.record_blocker() is True
    assert sm.state.blocker_count == 2
    assert sm.record_blocker(resolved=True) is True
    assert sm.record_blocker(resolved=True) is True
    assert sm.record_blocker(resolved=True) is False
    assert sm.state.blocker_count == 0
    assert sm.state.severity_groups == {}


def test_named_blockers_fill_the_blocker_group_idempotently():
    sm = EpochStateMachine("e-1")
    assert sm.record_blocker("b-1") is True
    assert sm.record_blocker("b-1") is False
    assert sm.record_blocker("b-2") is True
    assert (sm.state.blocker_count, sm.state.severity_groups) == (
        2,
        {SeverityLevel.Blocker: {"b-1", "b-2"}},
    )
    assert sm.record_blocker("b-1", resolved=True) is True
    assert sm.record_blocker("b-1", resolved=True) is False
    assert sm.record_blocker("unknown", resolved=True) is False
    assert (sm.state.blocker_count, sm.state.severity_groups) == (
        1,
        {SeverityLevel.Blocker: {"b-2"}},
    )


@pytest.mark.parametrize("severity", [SeverityLevel.Important, SeverityLevel.Minor])
def test_lesser_findings_are_grouped_but_do_not_gate(severity):
    sm = machine_at(P.P10_CodeReview, ALL_ACCEPT)
    assert sm.record_blocker("f-1", severity=severity) is True
    assert sm.record_blocker(severity=severity) is False
    assert sm.state.severity_groups == {severity: {"f-1"}}
    assert sm.state.blocker_count == 0
    assert sm.validate_advance(P.P11_ImplUat) == []
    assert sm.record_blocker("f-1", severity=severity, resolved=True) is True
    assert sm.state.severity_groups == {severity: set()}


def test_resolving_the_last_blocker_opens_the_gate():
    sm = machine_at(P.P10_CodeReview, ALL_ACCEPT)
    sm.record_blocker("b-1")
    assert P.P11_ImplUat not in [t.to_phase for t in sm.available_transitions]
    sm.record_blocker("b-1", resolved=True)
    walk(sm, P.P11_ImplUat)
    assert sm.state.current_phase == P.P11_ImplUat


def test_from_state_wraps_the_same_object():
    state = EpochState("e-9", P.P12_Landing)
    sm = EpochStateMachine.from_state(state)
    walk(sm, P.Complete)
    assert state.current_phase == P.Complete


def test_specs_are_injectable():
    tiny = {
        P.P1_Request: PhaseSpec(
            P.P1_Request, 1, Domain.User, "Request", frozenset(), (Transition(P.Complete, "go"),)
        )
    }
    sm = EpochStateMachine("e-1", tiny)
    assert sm.validate_advance(P.P2_Elicit) != []
    walk(sm, P.Complete)
    assert sm.state.current_phase == P.Complete


# --- property-based: random signal sequences -------------------------------------------------

advance_any = st.tuples(st.just("advance"), st.sampled_from(list(PhaseId)))
# Index into the current phase's table, mostly 0 (the forward edge), and long lists, so that
# walks get deep enough to exercise the p10 gates.
follow_edge = st.tuples(st.just("follow"), st.sampled_from([0, 0, 0, 1]))
mostly_accept = st.sampled_from([ACCEPT, ACCEPT, ACCEPT, REVISE])
vote = st.tuples(st.just("vote"), st.sampled_from(list(ReviewAxis)), mostly_accept)
# One vote per axis in a single signal, so that consensus gates are actually reached.
ballot = st.tuples(st.just("ballot"), st.tuples(mostly_accept, mostly_accept, mostly_accept))
blocker = st.tuples(
    st.just("blocker"),
    st.sampled_from(["", "b-1", "b-2"]),
    st.sampled_from(list(SeverityLevel)),
    st.booleans(),
)
slice_report = st.tuples(
    st.just("slice"), st.sampled_from(["s-1", "s-2"]), st.sampled_from(list(SliceStatus))
)
signals = st.lists(
    st.one_of(advance_any, follow_edge, vote, ballot, blocker, slice_report),
    min_size=40,
    max_size=150,
)
TABLE_EDGES = {(p, t.to_phase) for p, spec in PHASE_SPECS.items() for t in spec.transitions}


def target_of(sm, signal):
    if signal[0] == "advance":
        return signal[1]
    spec = PHASE_SPECS.get(sm.state.current_phase)
    if spec is None:
        return P.Complete
    return spec.transitions[signal[1] % len(spec.transitions)].to_phase


@settings(max_examples=200, deadline=None)
@given(signals)
def test_random_signals_respect_table_and_gates(sequence):
    sm = EpochStateMachine("e-prop")
    for signal in sequence:
        if signal[0] == "vote":
            sm.record_vote(signal[1], signal[2])
        elif signal[0] == "ballot":
            for axis, cast in zip(ReviewAxis, signal[1], strict=True):
                sm.record_vote(axis, cast)
        elif signal[0] == "blocker":
            sm.record_blocker(signal[1], severity=signal[2], resolved=signal[3])
        elif signal[0] == "slice":
            sm.record_slice(signal[1], signal[2])
        else:
            to_phase = target_of(sm, signal)
            before = copy.deepcopy(sm.state)
            available = {t.to_phase for t in sm.available_transitions}
            consensus = sm.has_consensus()
            move = (before.current_phase, to_phase)
            try:
                record = sm.advance(to_phase, triggered_by="prop", condition_met="c")
            except TransitionError as error:
                assert error.violations
                assert error.violations == sm.validate_advance(to_phase)
                assert to_phase not in available
                assert sm.state == before
            else:
                assert move in TABLE_EDGES
                assert to_phase in available
                assert consensus or move not in CONSENSUS_GATED
                assert before.blocker_count == 0 or move not in BLOCKER_GATED
                slices_done = all(s == SliceStatus.Succeeded for s in before.slices.values())
                assert slices_done or move not in SLICE_GATED
                assert (record.from_phase, record.to_phase) == move
                assert sm.state.current_phase == to_phase
                assert sm.state.review_votes == {}
                assert sm.state.blocker_count == before.blocker_count
                assert sm.state.transition_history == [*before.transition_history, record]
        assert sm.state.blocker_count >= 0
        if sm.state.current_phase == P.P10_CodeReview:
            assert set(SeverityLevel) <= set(sm.state.severity_groups)

    history = sm.state.transition_history
    assert all((r.from_phase, r.to_phase) in TABLE_EDGES for r in history)
    assert [r.from_phase for r in history] == [P.P1_Request, *(r.to_phase for r in history)][:-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(blocker.filter(lambda b: b[1]), max_size=40))
def test_named_blocker_count_matches_the_blocker_group(sequence):
    sm = machine_at(P.P10_CodeReview)
    for _, blocker_id, severity, resolved in sequence:
        sm.record_blocker(blocker_id, severity=severity, resolved=resolved)
        open_blockers = sm.state.severity_groups.get(SeverityLevel.Blocker, set())
        assert sm.state.blocker_count == len(open_blockers)


def test_slice_gate_holds_p9_until_every_slice_succeeded():
    sm = machine_at(P.P9_Slice)
    sm.record_slice("s-1", SliceStatus.Running)
    sm.record_slice("s-2", "failed")
    assert [t.to_phase for t in sm.available_transitions] == []
    assert sm.validate_advance(P.P10_CodeReview) == [
        "Slice gate for <PhaseId.P9_Slice: 'p9'> → <PhaseId.P10_CodeReview: 'p10'>: "
        "2 slice(s) unfinished or failed: ['s-1', 's-2']."
    ]
    sm.record_slice("s-1", SliceStatus.Succeeded)
    sm.record_slice("s-2", SliceStatus.Succeeded)
    assert [t.to_phase for t in sm.available_transitions] == [P.P10_CodeReview]
    assert sm.advance(P.P10_CodeReview, triggered_by="t", condition_met="c").success
