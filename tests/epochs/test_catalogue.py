"""The constraint catalogue (28 specs) and the handoff specs h1–h6."""

import dataclasses

import pytest

from epochs.catalogue import (
    HANDOFF_SPECS,
    ConstraintContext,
    ConstraintSpec,
    ContentLevel,
    ExampleLabel,
)
from epochs.constraint_specs import CONSTRAINT_SPECS
from epochs.constraints import RuntimeConstraintChecker
from epochs.protocol import PhaseId, RoleId

IDS = [
    "C-audit-never-delete",
    "C-audit-dep-chain",
    "C-review-consensus",
    "C-review-binary",
    "C-severity-eager",
    "C-severity-not-plan",
    "C-blocker-dual-parent",
    "C-followup-timing",
    "C-vertical-slices",
    "C-supervisor-no-impl",
    "C-supervisor-explore-ephemeral",
    "C-clean-review-exit",
    "C-autonomous-progression",
    "C-integration-points",
    "C-slice-review-before-close",
    "C-max-review-cycles",
    "C-slice-leaf-tasks",
    "C-handoff-skill-invocation",
    "C-dep-direction",
    "C-frontmatter-refs",
    "C-agent-commit",
    "C-proposal-naming",
    "C-review-naming",
    "C-ure-verbatim",
    "C-followup-lifecycle",
    "C-followup-leaf-adoption",
    "C-worker-gates",
    "C-actionable-errors",
]


def test_the_catalogue_has_the_28_ids_in_order_keyed_by_their_own_id() -> None:
    assert list(CONSTRAINT_SPECS) == IDS
    assert all(spec.id == key for key, spec in CONSTRAINT_SPECS.items())


@pytest.mark.parametrize(
    ("constraint_id", "field", "text"),
    [
        ("C-review-consensus", "then", "all 3 reviewers must ACCEPT before proceeding"),
        ("C-review-binary", "then", "use ACCEPT or REVISE only"),
        (
            "C-review-binary",
            "should_not",
            "use APPROVE, APPROVE_WITH_COMMENTS, REQUEST_CHANGES, or REJECT",
        ),
        (
            "C-severity-eager",
            "then",
            "ALWAYS create 3 severity group tasks (BLOCKER, IMPORTANT, MINOR) immediately",
        ),
        ("C-audit-never-delete", "given", "any task or label"),
        ("C-agent-commit", "command", "git agent-commit -m ..."),
        ("C-dep-direction", "command", "bd dep add <stays-open> --blocked-by <must-finish-first>"),
        ("C-slice-leaf-tasks", "command", "bd dep add <slice-id> --blocked-by <leaf-task-id>"),
        ("C-supervisor-explore-ephemeral", "when", "starting Phase 8 (IMPL_PLAN)"),
        ("C-followup-leaf-adoption", "given", "supervisor creates FOLLOWUP_SLICE-N"),
    ],
)
def test_key_texts_are_word_for_word(constraint_id: str, field: str, text: str) -> None:
    assert getattr(CONSTRAINT_SPECS[constraint_id], field) == text


def test_max_review_cycles_and_autonomous_progression_say_what_they_limit() -> None:
    assert CONSTRAINT_SPECS["C-max-review-cycles"].then.startswith(
        "limit to a maximum of 3 cycles per slice; "
    )
    assert CONSTRAINT_SPECS["C-autonomous-progression"].then.startswith(
        "4 user-gated phases only: (1) research depth decision, (2) URE survey, "
        "(3) Plan UAT, (4) Impl UAT; "
    )


def test_every_spec_is_filled_in_and_frozen() -> None:
    for spec in CONSTRAINT_SPECS.values():
        assert all([spec.given, spec.when, spec.then, spec.should_not]), spec.id
        for example in spec.examples:
            assert example.id.startswith(spec.id) and example.code
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONSTRAINT_SPECS["C-review-binary"].then = "anything"  # type: ignore[misc]


def test_examples_and_commands_are_where_the_catalogue_puts_them() -> None:
    with_examples = {key for key, spec in CONSTRAINT_SPECS.items() if spec.examples}
    assert with_examples == {
        "C-audit-dep-chain",
        "C-severity-eager",
        "C-dep-direction",
        "C-agent-commit",
        "C-ure-verbatim",
    }
    labels = [e.label for e in CONSTRAINT_SPECS["C-agent-commit"].examples]
    assert labels == [ExampleLabel.Correct, ExampleLabel.AntiPattern]
    assert CONSTRAINT_SPECS["C-dep-direction"].examples[0].also_illustrates == "C-audit-dep-chain"
    assert CONSTRAINT_SPECS["C-review-consensus"].command is None


def test_constraint_context_is_the_prompt_fragment_of_a_spec() -> None:
    spec = CONSTRAINT_SPECS["C-agent-commit"]
    assert ConstraintContext.from_spec(spec) == ConstraintContext(
        spec.id, spec.given, spec.when, spec.then, spec.should_not
    )


@pytest.mark.parametrize(
    ("handoff", "source", "target", "phase", "level", "first", "count"),
    [
        ("h1", "architect", "supervisor", "p7", "full-provenance", "request", 8),
        ("h2", "supervisor", "worker", "p9", "summary-with-ids", "request", 10),
        ("h3", "supervisor", "reviewer", "p10", "summary-with-ids", "request", 8),
        ("h4", "worker", "reviewer", "p10", "summary-with-ids", "request", 7),
        ("h5", "reviewer", "supervisor", "p10", "summary-with-ids", "request", 7),
        ("h6", "supervisor", "architect", "p3", "summary-with-ids", "request", 9),
    ],
)
def test_handoff_specs(handoff, source, target, phase, level, first, count) -> None:
    spec = HANDOFF_SPECS[handoff]
    assert (spec.id, spec.source_role, spec.target_role) == (handoff, source, target)
    assert spec.at_phase == PhaseId(phase) and spec.content_level == ContentLevel(level)
    assert spec.required_fields[0] == first and len(spec.required_fields) == count
    assert isinstance(spec.source_role, RoleId)


def test_h6_carries_the_follow_up_documents() -> None:
    assert HANDOFF_SPECS["h6"].required_fields == (
        "request",
        "urd",
        "followup-epic",
        "followup-ure",
        "followup-urd",
        "context",
        "key-decisions",
        "findings-summary",
        "acceptance-criteria",
    )


def test_the_checker_defaults_to_the_catalogues_and_accepts_others() -> None:
    default = RuntimeConstraintChecker()
    assert default.constraint_specs is CONSTRAINT_SPECS
    assert default.handoff_specs is HANDOFF_SPECS
    custom = {"C-x": ConstraintSpec("C-x", "g", "w", "t", "s")}
    assert RuntimeConstraintChecker(custom, {}).constraint_specs is custom
