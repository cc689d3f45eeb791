"""Naming, structural and process checks: each one's violations and non-violations."""

import pytest

from epochs.catalogue import ConstraintViolation
from epochs.constraints import RuntimeConstraintChecker
from epochs.protocol import PhaseId

checker = RuntimeConstraintChecker()


def ids(violations: list[ConstraintViolation]) -> list[str]:
    return [v.constraint_id for v in violations]


# --- naming -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("PROPOSAL-3: dark mode", ["C-review-naming", "C-followup-lifecycle"]),
        ("SLICE-1-REVIEW-A-1: types", ["C-proposal-naming", "C-followup-lifecycle"]),
        ("FOLLOWUP_SLICE-2: leftovers", ["C-proposal-naming", "C-review-naming"]),
        (
            "git commit -m 'x'",
            ["C-proposal-naming", "C-review-naming", "C-followup-lifecycle", "C-agent-commit"],
        ),
        (
            "git agent-commit -m 'x'",
            ["C-proposal-naming", "C-review-naming", "C-followup-lifecycle"],
        ),
        ("PROPOSAL-x: bad", ["C-proposal-naming", "C-review-naming", "C-followup-lifecycle"]),
        ("SLICE-1-REVIEW-1-1", ["C-proposal-naming", "C-review-naming", "C-followup-lifecycle"]),
    ],
)
def test_check_naming_runs_all_four_checks_per_title(title: str, expected: list[str]) -> None:
    assert ids(checker.check_naming([title])) == expected


def test_check_naming_goes_title_by_title_and_accepts_none() -> None:
    assert checker.check_naming([]) == []
    violations = checker.check_naming(["git commit -m a", "git commit -m b"])
    assert ids(violations).count("C-agent-commit") == 2
    assert [v.context for v in violations if v.constraint_id == "C-agent-commit"] == [
        {"command": "git commit -m a"},
        {"command": "git commit -m b"},
    ]


@pytest.mark.parametrize(
    "prefix",
    ["FOLLOWUP:", "FOLLOWUP_URE:", "FOLLOWUP_URD:", "FOLLOWUP_PROPOSAL-", "FOLLOWUP_IMPL_PLAN:"],
)
def test_followup_prefixes(prefix: str) -> None:
    assert checker.check_followup_lifecycle(f"{prefix} x") == []
    assert ids(checker.check_followup_lifecycle(f"followup {prefix}")) == ["C-followup-lifecycle"]


def test_naming_messages() -> None:
    [proposal] = checker.check_proposal_naming("Plan")
    assert proposal.message == (
        "Proposal title 'Plan' does not match required pattern 'PROPOSAL-{N}: {description}' "
        "where N is a positive integer. "
        "Old proposals must be marked aura:superseded, not deleted or reused."
    )
    [review] = checker.check_review_naming("Plan")
    assert review.context == {"title": "Plan"}
    assert "'{SCOPE}-REVIEW-{axis}-{round}: {description}'" in review.message
    [commit] = checker.check_agent_commit("git commit -m x")
    assert commit.message == (
        "Commit command 'git commit -m x' uses 'git commit' but must use "
        "'git agent-commit -m ...' instead."
    )
    assert checker.check_agent_commit("ls -la") == []


# --- structural (task graph) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "child", "count"),
    [("a", "b", 0), ("", "b", 1), ("a", " ", 1), ("a", "a", 1), ("", "", 2), (" ", " ", 3)],
)
def test_dep_direction(parent: str, child: str, count: int) -> None:
    violations = checker.check_dep_direction(parent, child)
    assert ids(violations) == ["C-dep-direction"] * count
    assert all(v.context == {"parent_id": parent, "child_id": child} for v in violations)


def test_dep_direction_self_reference_message() -> None:
    [violation] = checker.check_dep_direction("t-1", "t-1")
    assert violation.message == (
        "Self-referential dependency: parent_id and child_id are both 't-1'. "
        "A task cannot be blocked by itself."
    )


@pytest.mark.parametrize(
    ("group", "slice_id", "contexts"),
    [
        ("g", "s", []),
        ("", "s", [{"blocker_task_id": "b", "severity_group_id": ""}]),
        ("g", "", [{"blocker_task_id": "b", "slice_id": ""}]),
        ("x", "x", [{"blocker_task_id": "b", "severity_group_id": "x", "slice_id": "x"}]),
    ],
)
def test_blocker_dual_parent(group: str, slice_id: str, contexts: list[dict]) -> None:
    violations = checker.check_blocker_dual_parent("b", group, slice_id)
    assert [v.context for v in violations] == contexts
    assert set(ids(violations)) <= {"C-blocker-dual-parent"}


def test_slice_has_leaf_tasks() -> None:
    assert checker.check_slice_has_leaf_tasks("s-1", ["l-1"]) == []
    [violation] = checker.check_slice_has_leaf_tasks("s-1", [])
    assert violation.constraint_id == "C-slice-leaf-tasks"
    assert violation.context == {"slice_id": "s-1", "leaf_count": "0"}


@pytest.mark.parametrize(
    ("question", "options", "response", "fields"),
    [
        ("Which?", ["a: first"], "a", []),
        ("", ["a"], "a", ["question"]),
        ("Which?", [], "a", ["options"]),
        ("Which?", ["a"], "  ", ["response"]),
        (" ", [], "", ["question", "options", "response"]),
    ],
)
def test_ure_verbatim(question, options, response, fields) -> None:
    violations = checker.check_ure_verbatim(question, options, response)
    assert [v.context["field"] for v in violations] == fields
    assert set(ids(violations)) <= {"C-ure-verbatim"}


@pytest.mark.parametrize(
    ("description", "keys", "missing"),
    [
        ("---\nurd: u-1\nrequest: r-1\n---", ["urd", "request"], []),
        ("---\nurd: u-1\n---", ["urd", "request"], ["request"]),
        ("urd: u-1", ["urd"], ["urd"]),
        ("anything", [], []),
    ],
)
def test_frontmatter_refs(description: str, keys: list[str], missing: list[str]) -> None:
    violations = checker.check_frontmatter_refs(description, keys)
    assert [v.context for v in violations] == [{"missing_key": key} for key in missing]


def test_followup_leaf_adoption() -> None:
    assert checker.check_followup_leaf_adoption("l", "g", "f") == []
    both = checker.check_followup_leaf_adoption("l", "", " ")
    assert ids(both) == ["C-followup-leaf-adoption"] * 2
    assert both[0].context == {"leaf_task_id": "l", "severity_group_id": ""}
    assert both[1].context == {"leaf_task_id": "l", "followup_slice_id": " "}


@pytest.mark.parametrize(
    ("path", "owners", "context"),
    [
        ("api/views.py", ["w-1"], None),
        ("", ["w-1"], {"production_code_path": ""}),
        ("  ", [], {"production_code_path": "  "}),
        ("api/views.py", [], {"production_code_path": "api/views.py", "owner_count": "0"}),
        (
            "api/views.py",
            ["w-1", "w-2"],
            {"production_code_path": "api/views.py", "owner_count": "2", "owners": "w-1,w-2"},
        ),
    ],
)
def test_vertical_slices(path: str, owners: list[str], context: dict | None) -> None:
    violations = checker.check_vertical_slices(path, owners)
    assert [v.context for v in violations] == ([] if context is None else [context])


# --- process --------------------------------------------------------------------------------


@pytest.mark.parametrize("vote", ["APPROVE", "accept", "REJECT", ""])
def test_review_binary_refuses_anything_but_accept_or_revise(vote: str) -> None:
    [violation] = checker.check_review_binary(vote)
    assert violation.context == {"vote": vote, "valid_votes": "ACCEPT,REVISE"}
    assert checker.check_review_binary("ACCEPT") == checker.check_review_binary("REVISE") == []


@pytest.mark.parametrize(
    ("findings", "created", "count"), [(True, False, 1), (True, True, 0), (False, False, 0)]
)
def test_followup_timing(findings: bool, created: bool, count: int) -> None:
    assert ids(checker.check_followup_timing(findings, created)) == ["C-followup-timing"] * count


@pytest.mark.parametrize(
    ("role", "action", "count"),
    [
        ("supervisor", "file_edit", 1),
        ("supervisor", "edit_file", 1),
        ("supervisor", "spawn_worker", 0),
        ("worker", "file_edit", 0),
    ],
)
def test_supervisor_no_impl(role: str, action: str, count: int) -> None:
    violations = checker.check_supervisor_no_impl(role, action)
    assert ids(violations) == ["C-supervisor-no-impl"] * count


def test_integration_points() -> None:
    assert checker.check_integration_points(True) == []
    [violation] = checker.check_integration_points(False)
    assert violation.context == {"has_integration_points": "False"}


@pytest.mark.parametrize(
    ("phase", "method", "count"),
    [
        ("p8", "direct", 1),
        (PhaseId.P8_ImplPlan, "standing_team", 1),
        ("p8", "ephemeral_task", 0),
        ("p9", "direct", 0),
    ],
)
def test_supervisor_explore_ephemeral(phase: str, method: str, count: int) -> None:
    violations = checker.check_supervisor_explore_ephemeral(phase, method)
    assert ids(violations) == ["C-supervisor-explore-ephemeral"] * count
    if count:
        assert violations[0].context == {"phase": "p8", "exploration_method": method}


@pytest.mark.parametrize(
    ("by_worker", "reviewed", "count"),
    [(True, True, 1), (True, False, 1), (False, False, 1), (False, True, 0)],
)
def test_slice_review_before_close(by_worker: bool, reviewed: bool, count: int) -> None:
    violations = checker.check_slice_review_before_close(by_worker, reviewed)
    assert ids(violations) == ["C-slice-review-before-close"] * count
    for violation in violations:
        assert violation.context == {
            "slice_closed_by_worker": str(by_worker),
            "review_completed": str(reviewed),
        }


@pytest.mark.parametrize(("cycles", "count"), [(0, 0), (3, 0), (4, 1), (9, 1)])
def test_max_review_cycles(cycles: int, count: int) -> None:
    violations = checker.check_max_review_cycles(cycles)
    assert ids(violations) == ["C-max-review-cycles"] * count
    if count:
        assert violations[0].context == {"review_cycle_count": str(cycles), "max_cycles": "3"}


@pytest.mark.parametrize(
    ("todos", "tests", "typecheck", "gates"),
    [
        (False, True, True, []),
        (True, False, False, ["tests", "typecheck", "no_todos"]),
        (False, False, True, ["tests"]),
        (True, True, True, ["no_todos"]),
    ],
)
def test_worker_gates_in_order(todos: bool, tests: bool, typecheck: bool, gates: list) -> None:
    violations = checker.check_worker_gates(todos, tests, typecheck)
    assert [v.context for v in violations] == [{"gate": g, "passed": "false"} for g in gates]


@pytest.mark.parametrize(
    ("blockers", "importants", "worker_wave", "count"),
    [(0, 0, False, 0), (1, 0, False, 1), (0, 2, False, 1), (0, 0, True, 1), (1, 1, True, 2)],
)
def test_clean_review_exit(blockers: int, importants: int, worker_wave: bool, count: int) -> None:
    violations = checker.check_clean_review_exit(blockers, importants, worker_wave)
    assert ids(violations) == ["C-clean-review-exit"] * count


@pytest.mark.parametrize(
    ("phase", "asked", "count"),
    [("p3", True, 1), ("p12", True, 1), ("p5", True, 0), ("p11", True, 0), ("p3", False, 0)],
)
def test_autonomous_progression(phase: str, asked: bool, count: int) -> None:
    violations = checker.check_autonomous_progression(phase, asked)
    assert ids(violations) == ["C-autonomous-progression"] * count


# --- check_structural ----------------------------------------------------------------------


def test_check_structural_runs_only_the_checks_whose_arguments_are_all_given() -> None:
    assert checker.check_structural() == []
    assert checker.check_structural(parent_id="a") == []  # child_id missing: not run
    assert ids(checker.check_structural(parent_id="a", child_id="a", vote="NOPE")) == [
        "C-dep-direction",
        "C-review-binary",
    ]


def test_check_structural_feeds_a_shared_argument_to_both_checks() -> None:
    violations = checker.check_structural(
        blocker_task_id="b", severity_group_id="", slice_id="s", leaf_task_ids=[]
    )
    assert ids(violations) == ["C-blocker-dual-parent", "C-slice-leaf-tasks"]


def test_check_structural_never_short_circuits_and_keeps_the_table_order() -> None:
    violations = checker.check_structural(
        parent_id="",
        child_id="c",
        vote="APPROVE",
        has_integration_points=False,
        review_cycle_count=5,
        has_todos=True,
        tests_pass=True,
        typecheck_pass=True,
        production_code_path="",
        owner_ids=[],
    )
    assert ids(violations) == [
        "C-dep-direction",
        "C-review-binary",
        "C-integration-points",
        "C-max-review-cycles",
        "C-worker-gates",
        "C-vertical-slices",
    ]


def test_check_structural_refuses_a_keyword_no_check_takes() -> None:
    with pytest.raises(TypeError, match="parent"):
        checker.check_structural(parent="a")
