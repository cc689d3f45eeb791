"""Structural checks over the task graph, and the table `check_structural` dispatches on.

These cover what agents build outside the workflow (dependencies, slices, findings, interview
records), so callers pass the facts in. Mixed into `RuntimeConstraintChecker`; every check
returns a list (empty = satisfied) and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from epochs.catalogue import ConstraintViolation, violation


@dataclass(frozen=True)
class StructuralCheck:
    """One check `check_structural` runs, and the keyword arguments it needs."""

    constraint_id: str
    method: str
    arguments: tuple[str, ...]


# In the order `check_structural` runs them. A check runs only when all its arguments are given.
STRUCTURAL_CHECKS: tuple[StructuralCheck, ...] = (
    StructuralCheck("C-dep-direction", "check_dep_direction", ("parent_id", "child_id")),
    StructuralCheck("C-review-binary", "check_review_binary", ("vote",)),
    StructuralCheck(
        "C-blocker-dual-parent",
        "check_blocker_dual_parent",
        ("blocker_task_id", "severity_group_id", "slice_id"),
    ),
    StructuralCheck(
        "C-slice-leaf-tasks", "check_slice_has_leaf_tasks", ("slice_id", "leaf_task_ids")
    ),
    StructuralCheck("C-ure-verbatim", "check_ure_verbatim", ("question", "options", "response")),
    StructuralCheck(
        "C-followup-timing",
        "check_followup_timing",
        ("has_important_or_minor", "followup_created"),
    ),
    StructuralCheck(
        "C-frontmatter-refs",
        "check_frontmatter_refs",
        ("task_description", "required_ref_keys"),
    ),
    StructuralCheck("C-supervisor-no-impl", "check_supervisor_no_impl", ("role", "action_type")),
    StructuralCheck(
        "C-integration-points", "check_integration_points", ("has_integration_points",)
    ),
    StructuralCheck(
        "C-supervisor-explore-ephemeral",
        "check_supervisor_explore_ephemeral",
        ("phase", "exploration_method"),
    ),
    StructuralCheck(
        "C-slice-review-before-close",
        "check_slice_review_before_close",
        ("slice_closed_by_worker", "review_completed"),
    ),
    StructuralCheck("C-max-review-cycles", "check_max_review_cycles", ("review_cycle_count",)),
    StructuralCheck(
        "C-followup-leaf-adoption",
        "check_followup_leaf_adoption",
        ("leaf_task_id", "severity_group_id", "followup_slice_id"),
    ),
    StructuralCheck(
        "C-worker-gates", "check_worker_gates", ("has_todos", "tests_pass", "typecheck_pass")
    ),
    StructuralCheck(
        "C-vertical-slices", "check_vertical_slices", ("production_code_path", "owner_ids")
    ),
)

# The type of every `check_structural` keyword; the REST and CLI surfaces are built from it.
STRUCTURAL_ARGUMENTS: dict[str, type] = {
    "parent_id": str,
    "child_id": str,
    "vote": str,
    "blocker_task_id": str,
    "severity_group_id": str,
    "slice_id": str,
    "leaf_task_ids": list,
    "question": str,
    "options": list,
    "response": str,
    "has_important_or_minor": bool,
    "followup_created": bool,
    "task_description": str,
    "required_ref_keys": list,
    "role": str,
    "action_type": str,
    "has_integration_points": bool,
    "phase": str,
    "exploration_method": str,
    "slice_closed_by_worker": bool,
    "review_completed": bool,
    "review_cycle_count": int,
    "leaf_task_id": str,
    "followup_slice_id": str,
    "has_todos": bool,
    "tests_pass": bool,
    "typecheck_pass": bool,
    "production_code_path": str,
    "owner_ids": list,
}


def _blank(value: str) -> bool:
    return not value or not value.strip()


class StructuralConstraintChecks:
    """Checks over dependencies, slices, findings and interview records."""

    def check_dep_direction(self, parent_id: str, child_id: str) -> list[ConstraintViolation]:
        """C-dep-direction: both ends of a dependency are named and distinct."""
        context = {"parent_id": parent_id, "child_id": child_id}
        violations = []
        if _blank(parent_id):
            violations.append(
                violation(
                    "C-dep-direction",
                    "Dependency parent_id must be a non-empty task ID.",
                    **context,
                )
            )
        if _blank(child_id):
            violations.append(
                violation(
                    "C-dep-direction",
                    "Dependency child_id must be a non-empty task ID.",
                    **context,
                )
            )
        if parent_id and parent_id == child_id:
            violations.append(
                violation(
                    "C-dep-direction",
                    f"Self-referential dependency: parent_id and child_id are both "
                    f"{parent_id!r}. A task cannot be blocked by itself.",
                    **context,
                )
            )
        return violations

    def check_blocker_dual_parent(
        self, blocker_task_id: str, severity_group_id: str, slice_id: str
    ) -> list[ConstraintViolation]:
        """C-blocker-dual-parent: a BLOCKER hangs under its severity group AND its slice."""
        violations = []
        if _blank(severity_group_id):
            violations.append(
                violation(
                    "C-blocker-dual-parent",
                    f"BLOCKER finding {blocker_task_id!r} requires a severity_group_id. "
                    "Must be added as child of the severity group task.",
                    blocker_task_id=blocker_task_id,
                    severity_group_id=severity_group_id,
                )
            )
        if _blank(slice_id):
            violations.append(
                violation(
                    "C-blocker-dual-parent",
                    f"BLOCKER finding {blocker_task_id!r} requires a slice_id. "
                    "Must ALSO be added as child of the slice it blocks (dual-parent).",
                    blocker_task_id=blocker_task_id,
                    slice_id=slice_id,
                )
            )
        if severity_group_id and severity_group_id == slice_id:
            violations.append(
                violation(
                    "C-blocker-dual-parent",
                    f"BLOCKER finding {blocker_task_id!r}: severity_group_id and "
                    f"slice_id are the same ({severity_group_id!r}). "
                    "These must be different tasks (dual-parent requires 2 distinct parents).",
                    blocker_task_id=blocker_task_id,
                    severity_group_id=severity_group_id,
                    slice_id=slice_id,
                )
            )
        return violations

    def check_slice_has_leaf_tasks(
        self, slice_id: str, leaf_task_ids: list[str]
    ) -> list[ConstraintViolation]:
        """C-slice-leaf-tasks: a slice is decomposed into leaf tasks."""
        if leaf_task_ids:
            return []
        return [
            violation(
                "C-slice-leaf-tasks",
                f"Slice {slice_id!r} has no leaf tasks. "
                "Every slice must have L1 (types), L2 (tests), L3 (impl) leaf tasks "
                "with bd dep add slice-id --blocked-by leaf-task-id.",
                slice_id=slice_id,
                leaf_count="0",
            )
        ]

    def check_ure_verbatim(
        self, question: str, options: list[str], response: str
    ) -> list[ConstraintViolation]:
        """C-ure-verbatim: an interview record keeps the question, every option, the answer."""
        violations = []
        if _blank(question):
            violations.append(
                violation(
                    "C-ure-verbatim",
                    "User interview record is missing the question text. "
                    "Must capture full question text verbatim.",
                    field="question",
                )
            )
        if not options:
            violations.append(
                violation(
                    "C-ure-verbatim",
                    "User interview record has no options. "
                    "Must capture ALL option descriptions (not just numbers).",
                    field="options",
                    option_count="0",
                )
            )
        if _blank(response):
            violations.append(
                violation(
                    "C-ure-verbatim",
                    "User interview record is missing the user's response. "
                    "Must capture verbatim response.",
                    field="response",
                )
            )
        return violations

    def check_frontmatter_refs(
        self, task_description: str, required_ref_keys: list[str]
    ) -> list[ConstraintViolation]:
        """C-frontmatter-refs: each required reference is a key of the description frontmatter."""
        has_frontmatter = task_description.strip().startswith("---")
        return [
            violation(
                "C-frontmatter-refs",
                f"Task description is missing frontmatter reference for {key!r}. "
                "Use YAML frontmatter block (---) with 'references:' section. "
                "Do NOT use bd dep relate for reference-only links.",
                missing_key=key,
            )
            for key in required_ref_keys
            if not has_frontmatter or f"{key}:" not in task_description
        ]

    def check_followup_leaf_adoption(
        self, leaf_task_id: str, severity_group_id: str, followup_slice_id: str
    ) -> list[ConstraintViolation]:
        """C-followup-leaf-adoption: an adopted leaf keeps both parents."""
        violations = []
        if _blank(severity_group_id):
            violations.append(
                violation(
                    "C-followup-leaf-adoption",
                    f"Leaf task {leaf_task_id!r} is missing severity_group_id. "
                    "Must remain child of original severity group (dual-parent).",
                    leaf_task_id=leaf_task_id,
                    severity_group_id=severity_group_id,
                )
            )
        if _blank(followup_slice_id):
            violations.append(
                violation(
                    "C-followup-leaf-adoption",
                    f"Leaf task {leaf_task_id!r} is missing followup_slice_id. "
                    "Must ALSO be a child of the follow-up slice (dual-parent).",
                    leaf_task_id=leaf_task_id,
                    followup_slice_id=followup_slice_id,
                )
            )
        return violations

    def check_vertical_slices(
        self, production_code_path: str, owner_ids: list[str]
    ) -> list[ConstraintViolation]:
        """C-vertical-slices: each production code path has exactly one owner."""
        path = production_code_path
        if _blank(path):
            return [
                violation(
                    "C-vertical-slices",
                    "production_code_path must be a non-empty path identifier. "
                    "Each slice must identify the production code path it owns.",
                    production_code_path=path,
                )
            ]
        if not owner_ids:
            return [
                violation(
                    "C-vertical-slices",
                    f"Production code path {path!r} has no owner. "
                    "Each production code path must be owned by exactly one worker.",
                    production_code_path=path,
                    owner_count="0",
                )
            ]
        if len(owner_ids) == 1:
            return []
        return [
            violation(
                "C-vertical-slices",
                f"Production code path {path!r} has {len(owner_ids)} owners ({owner_ids}). "
                "Each production code path must be owned by exactly ONE worker. "
                "Do not assign horizontal layers or the same path to multiple workers.",
                production_code_path=path,
                owner_count=str(len(owner_ids)),
                owners=",".join(owner_ids),
            )
        ]
