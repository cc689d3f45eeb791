"""Process checks: how reviews, workers and the supervisor run the protocol.

Callers pass the facts in (a vote, the gates a worker ran, how a review ended). Mixed into
`RuntimeConstraintChecker`; every check returns a list (empty = satisfied) and never raises.
"""

from __future__ import annotations

from epochs.catalogue import ConstraintViolation, violation
from epochs.protocol import PhaseId, RoleId, VoteType

# Actions that mean the supervisor is writing code itself.
IMPL_ACTIONS = frozenset({"file_edit", "file_write", "code_change", "write_file", "edit_file"})
EPHEMERAL_EXPLORATION = "ephemeral_task"
MAX_REVIEW_CYCLES = 3
# The only phases where asking the user is part of the protocol: research depth, URE, the
# two UATs.
USER_GATED_PHASES = frozenset({"p1", "p2", "p5", "p11"})


class ProcessConstraintChecks:
    """Checks over votes, reviews, worker completion and the supervisor's conduct."""

    def check_review_binary(self, vote: str) -> list[ConstraintViolation]:
        """C-review-binary: a vote is ACCEPT or REVISE, nothing else."""
        valid = sorted(v.value for v in VoteType)
        if vote in valid:
            return []
        return [
            violation(
                "C-review-binary",
                f"Invalid vote {vote!r}. Reviewers must use ACCEPT or REVISE only. "
                "Values like APPROVE, APPROVE_WITH_COMMENTS, REQUEST_CHANGES, "
                "REJECT are not valid.",
                vote=vote,
                valid_votes=",".join(valid),
            )
        ]

    def check_followup_timing(
        self, has_important_or_minor: bool, followup_created: bool
    ) -> list[ConstraintViolation]:
        """C-followup-timing: IMPORTANT/MINOR findings get their follow-up epic at once."""
        if not has_important_or_minor or followup_created:
            return []
        return [
            violation(
                "C-followup-timing",
                "IMPORTANT or MINOR findings exist but follow-up epic has not been created. "
                "Create the follow-up epic immediately upon review completion. "
                "Do NOT gate follow-up epic creation on BLOCKER resolution.",
                has_important_or_minor=str(has_important_or_minor),
                followup_created=str(followup_created),
            )
        ]

    def check_supervisor_no_impl(self, role: str, action_type: str) -> list[ConstraintViolation]:
        """C-supervisor-no-impl: a supervisor delegates code changes to workers."""
        if role != RoleId.Supervisor or action_type not in IMPL_ACTIONS:
            return []
        return [
            violation(
                "C-supervisor-no-impl",
                f"Supervisor is performing a direct implementation action ({action_type!r}). "
                "Supervisors must spawn workers for ALL code changes. "
                "Delegate this action to a worker agent.",
                role=role,
                action_type=action_type,
            )
        ]

    def check_integration_points(self, has_integration_points: bool) -> list[ConstraintViolation]:
        """C-integration-points: the IMPL_PLAN documents the slices' shared contracts."""
        if has_integration_points:
            return []
        return [
            violation(
                "C-integration-points",
                "IMPL_PLAN does not document its Layer Integration Points. Each integration "
                "point must name its owning slice, consuming slices, shared contract and merge "
                "timing, and appear in the slice descriptions.",
                has_integration_points=str(has_integration_points),
            )
        ]

    def check_supervisor_explore_ephemeral(
        self, phase: str, exploration_method: str
    ) -> list[ConstraintViolation]:
        """C-supervisor-explore-ephemeral: p8 exploration goes through ephemeral subagents."""
        if phase != PhaseId.P8_ImplPlan or exploration_method == EPHEMERAL_EXPLORATION:
            return []
        return [
            violation(
                "C-supervisor-explore-ephemeral",
                f"Phase p8 (IMPL_PLAN): supervisor exploration used {exploration_method!r}. "
                f"Explore through ephemeral Explore subagents ({EPHEMERAL_EXPLORATION!r}); "
                "supervisor must NOT explore the codebase directly or keep a standing "
                "explore team.",
                phase=str(phase),
                exploration_method=exploration_method,
            )
        ]

    def check_slice_review_before_close(
        self, slice_closed_by_worker: bool, review_completed: bool
    ) -> list[ConstraintViolation]:
        """C-slice-review-before-close: only the supervisor closes a slice, after its review."""
        context = {
            "slice_closed_by_worker": str(slice_closed_by_worker),
            "review_completed": str(review_completed),
        }
        if slice_closed_by_worker:
            message = (
                "Slice was closed by its worker. Workers notify the supervisor with "
                "bd comments add (not bd close); only the supervisor closes slices, "
                "after review passes."
            )
        elif not review_completed:
            message = (
                "Slice is closed before any review completed. Slices must be reviewed "
                "at least once before closure."
            )
        else:
            return []
        return [violation("C-slice-review-before-close", message, **context)]

    def check_max_review_cycles(self, review_cycle_count: int) -> list[ConstraintViolation]:
        """C-max-review-cycles: a slice gets at most three review-fix cycles."""
        if review_cycle_count <= MAX_REVIEW_CYCLES:
            return []
        return [
            violation(
                "C-max-review-cycles",
                f"Slice has had {review_cycle_count} review cycles; the maximum is "
                f"{MAX_REVIEW_CYCLES} per slice. Escalate to the architect for re-planning "
                "and move remaining IMPORTANT findings to the FOLLOWUP epic.",
                review_cycle_count=str(review_cycle_count),
                max_cycles=str(MAX_REVIEW_CYCLES),
            )
        ]

    def check_worker_gates(
        self, has_todos: bool, tests_pass: bool, typecheck_pass: bool
    ) -> list[ConstraintViolation]:
        """C-worker-gates: tests and type checks pass and no TODO is left, in that order."""
        failed = [
            (
                not tests_pass,
                "tests",
                "Worker completion gate failed: tests are not passing. "
                "All tests must pass before closing the slice.",
            ),
            (
                not typecheck_pass,
                "typecheck",
                "Worker completion gate failed: type checking is not passing. "
                "All type checks must pass before closing the slice.",
            ),
            (
                has_todos,
                "no_todos",
                "Worker completion gate failed: production code contains TODO placeholders. "
                "All TODOs must be resolved before closing the slice. "
                "No TODO placeholders in CLI/API actions.",
            ),
        ]
        return [
            violation("C-worker-gates", message, gate=gate, passed="false")
            for broken, gate, message in failed
            if broken
        ]

    def check_clean_review_exit(
        self, blockers_remaining: int, importants_remaining: int, exited_on_worker_wave: bool
    ) -> list[ConstraintViolation]:
        """C-clean-review-exit: a review ends with no BLOCKER or IMPORTANT open, after a review."""
        violations = []
        if blockers_remaining > 0 or importants_remaining > 0:
            violations.append(
                violation(
                    "C-clean-review-exit",
                    f"Review exited with {blockers_remaining} BLOCKER(s) and "
                    f"{importants_remaining} IMPORTANT(s) open. A clean review exit requires "
                    "0 BLOCKERs AND 0 IMPORTANTs; MINORs go to the FOLLOWUP epic.",
                    blockers_remaining=str(blockers_remaining),
                    importants_remaining=str(importants_remaining),
                )
            )
        if exited_on_worker_wave:
            violations.append(
                violation(
                    "C-clean-review-exit",
                    "Review loop exited on a worker fix wave. The loop must end on a review "
                    "round, so the last fixes are reviewed before the slice closes.",
                    exited_on_worker_wave=str(exited_on_worker_wave),
                )
            )
        return violations

    def check_autonomous_progression(
        self, phase: str, asked_user: bool
    ) -> list[ConstraintViolation]:
        """C-autonomous-progression: only the four user-gated phases may stop to ask the user."""
        if phase in USER_GATED_PHASES or not asked_user:
            return []
        return [
            violation(
                "C-autonomous-progression",
                f"Phase {phase!r} is not a user gate but the user was asked to proceed. "
                "Only research depth (p1), URE (p2), Plan UAT (p5) and Impl UAT (p11) are "
                "user-gated; every other transition is auto-ratified by the supervisor.",
                phase=str(phase),
                asked_user=str(asked_user),
            )
        ]
