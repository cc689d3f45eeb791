"""Property tests over the checks' argument spaces: no check raises, aggregators never
short-circuit, and every violation names a catalogue constraint with string context."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from epochs.catalogue import ConstraintViolation
from epochs.constraint_specs import CONSTRAINT_SPECS
from epochs.constraints import RuntimeConstraintChecker
from epochs.protocol import PhaseId, ReviewAxis, RoleId, SeverityLevel, VoteType
from epochs.state_machine import EpochState, TransitionRecord
from epochs.structural_constraints import STRUCTURAL_ARGUMENTS, STRUCTURAL_CHECKS

checker = RuntimeConstraintChecker()

_text = st.text(max_size=20) | st.sampled_from(["", " ", "p8", "supervisor", "ACCEPT", "---"])
_VALUES = {
    str: _text,
    bool: st.booleans(),
    int: st.integers(min_value=-5, max_value=20),
    list: st.lists(_text, max_size=4),
}
structural_kwargs = st.fixed_dictionaries(
    {}, optional={name: _VALUES[kind] for name, kind in STRUCTURAL_ARGUMENTS.items()}
)


def well_formed(violations: list[ConstraintViolation]) -> bool:
    return all(
        isinstance(v, ConstraintViolation)
        and v.constraint_id in CONSTRAINT_SPECS
        and v.message
        and all(isinstance(value, str) for value in v.context.values())
        for v in violations
    )


@given(structural_kwargs)
def test_check_structural_is_the_concatenation_of_the_checks_it_can_run(kwargs) -> None:
    expected: list[ConstraintViolation] = []
    for check in STRUCTURAL_CHECKS:
        if all(name in kwargs for name in check.arguments):
            alone = getattr(checker, check.method)(*(kwargs[n] for n in check.arguments))
            assert {v.constraint_id for v in alone} <= {check.constraint_id}
            expected += alone
    result = checker.check_structural(**kwargs)
    assert result == expected
    assert well_formed(result)


@given(st.lists(_text | st.sampled_from(["PROPOSAL-1: a", "X-REVIEW-B-2", "git commit"])))
def test_check_naming_is_four_checks_per_title(titles: list[str]) -> None:
    expected = []
    for title in titles:
        expected += checker.check_proposal_naming(title)
        expected += checker.check_review_naming(title)
        expected += checker.check_followup_lifecycle(title)
        expected += checker.check_agent_commit(title)
    result = checker.check_naming(titles)
    assert result == expected and well_formed(result)
    # Not one title can be a proposal, a review task and a follow-up title at once.
    assert len(result) >= len(titles)


@given(st.integers())
def test_max_review_cycles_flags_exactly_more_than_three(count: int) -> None:
    assert bool(checker.check_max_review_cycles(count)) == (count > 3)


@given(_text)
def test_review_binary_accepts_exactly_the_two_votes(vote: str) -> None:
    assert bool(checker.check_review_binary(vote)) == (vote not in ("ACCEPT", "REVISE"))


@given(st.sampled_from([p.value for p in PhaseId]), st.booleans())
def test_only_the_four_user_gates_may_ask_the_user(phase: str, asked: bool) -> None:
    flagged = bool(checker.check_autonomous_progression(phase, asked))
    assert flagged == (asked and phase not in ("p1", "p2", "p5", "p11"))


@given(st.integers(-3, 3), st.integers(-3, 3), st.booleans())
def test_clean_review_exit_counts(blockers: int, importants: int, worker_wave: bool) -> None:
    violations = checker.check_clean_review_exit(blockers, importants, worker_wave)
    assert len(violations) == (blockers > 0 or importants > 0) + worker_wave
    assert well_formed(violations)


_records = st.builds(
    TransitionRecord,
    from_phase=st.sampled_from(list(PhaseId)),
    to_phase=st.sampled_from(list(PhaseId)),
    timestamp=st.just(datetime(2026, 4, 1, tzinfo=UTC)),
    triggered_by=st.sampled_from(["", "architect"]),
    condition_met=st.sampled_from(["", "done"]),
    success=st.booleans(),
)
states = st.builds(
    EpochState,
    epoch_id=st.just("e-1"),
    current_phase=st.sampled_from(list(PhaseId)),
    review_votes=st.dictionaries(st.sampled_from(list(ReviewAxis)), st.sampled_from(VoteType)),
    blocker_count=st.integers(0, 5),
    current_role=st.sampled_from([*RoleId, "intern"]),
    severity_groups=st.dictionaries(
        st.sampled_from(list(SeverityLevel)), st.sets(st.text(max_size=3), max_size=2)
    ),
    transition_history=st.lists(_records, max_size=4),
)


@given(states)
def test_check_state_aggregates_its_five_checks_and_its_aliases_agree(state) -> None:
    expected = [
        *checker.check_review_consensus(state),
        *checker.check_severity_tree(state),
        *checker.check_blocker_gate(state),
        *checker.check_audit_trail(state),
        *checker.check_role_ownership(state),
    ]
    result = checker.check_state(state)
    assert result == expected == checker.validate(state) == checker.check_state_constraints(state)
    assert well_formed(result)


@given(states, st.sampled_from(list(PhaseId)))
def test_check_transition_and_its_alias_agree(state, to_phase) -> None:
    result = checker.check_transition(state, to_phase)
    assert result == checker.check_transition_constraints(state, to_phase)
    assert well_formed(result)
    assert len(result) <= 3
