"""State-based constraint checks: what can be judged from an epoch's `EpochState` alone.

Mixed into `RuntimeConstraintChecker`; each check returns a list (empty = satisfied) and never
raises.
"""

from __future__ import annotations

from epochs.catalogue import ConstraintViolation
from epochs.protocol import PhaseId, ReviewAxis, RoleId, SeverityLevel, VoteType
from epochs.state_machine import EpochState

REVIEW_PHASES = frozenset({PhaseId.P4_Review, PhaseId.P10_CodeReview})
# Moves where the acting role changes (architect → supervisor, supervisor → workers). The
# same-actor moves p5 → p6 and p6 → p7 are simply absent, so they need no handoff.
HANDOFF_TRANSITIONS = frozenset(
    {
        (PhaseId.P7_Handoff, PhaseId.P8_ImplPlan),
        (PhaseId.P9_Slice, PhaseId.P10_CodeReview),
    }
)
_KNOWN_ROLES = frozenset(role.value for role in RoleId)


class StateConstraintChecks:
    """The C-* checks over `EpochState` (consensus, severity tree, gates, audit, roles)."""

    def check_review_consensus(self, state: EpochState) -> list[ConstraintViolation]:
        """C-review-consensus: in a review phase, all three axes must ACCEPT."""
        phase = state.current_phase
        votes = state.review_votes
        if phase not in REVIEW_PHASES or all(
            votes.get(axis) == VoteType.Accept for axis in ReviewAxis
        ):
            return []
        accepted = sorted(str(a) for a, v in votes.items() if v == VoteType.Accept)
        revise = sorted(str(a) for a, v in votes.items() if v == VoteType.Revise)
        not_voted = sorted(str(a) for a in ReviewAxis if a not in votes)
        return [
            ConstraintViolation(
                "C-review-consensus",
                f"Phase '{phase}' requires all 3 axes (correctness, test_quality, "
                f"elegance) to ACCEPT before proceeding. "
                f"Accepted: {accepted}, REVISE: {revise}, not voted: {not_voted}.",
                {
                    "phase": str(phase),
                    "accepted": ",".join(accepted),
                    "revise": ",".join(revise),
                    "not_voted": ",".join(not_voted),
                },
            )
        ]

    def check_handoff_required(
        self, from_phase: PhaseId, to_phase: PhaseId
    ) -> list[ConstraintViolation]:
        """C-handoff-skill-invocation: remind that an actor change needs a handoff document.

        The handoff file cannot be seen from here, so these moves always get the reminder.
        """
        if (from_phase, to_phase) not in HANDOFF_TRANSITIONS:
            return []
        return [
            ConstraintViolation(
                "C-handoff-skill-invocation",
                f"Transition '{from_phase}' → '{to_phase}' requires a handoff "
                "document and the receiving agent's prompt MUST start with "
                "Skill(/aura:{role}). Store handoff at .git/.aura/handoff/{request-id}/.",
                {"from_phase": str(from_phase), "to_phase": str(to_phase)},
            )
        ]

    def check_blocker_gate(self, state: EpochState) -> list[ConstraintViolation]:
        """C-worker-gates: code review may not be left while BLOCKERs are open."""
        if state.current_phase != PhaseId.P10_CodeReview or state.blocker_count <= 0:
            return []
        return [
            ConstraintViolation(
                "C-worker-gates",
                f"Phase p10 has {state.blocker_count} unresolved BLOCKER(s). "
                "All BLOCKERs must be resolved before advancing to p11 (Impl UAT).",
                {"phase": str(state.current_phase), "blocker_count": str(state.blocker_count)},
            )
        ]

    def check_severity_tree(self, state: EpochState) -> list[ConstraintViolation]:
        """C-severity-not-plan / C-severity-eager: severity trees belong to p10 only, eagerly."""
        phase = state.current_phase
        if phase == PhaseId.P4_Review:
            return [
                ConstraintViolation(
                    "C-severity-not-plan",
                    "Phase p4 (plan review) must NOT use severity trees. Plan reviews use "
                    "binary ACCEPT/REVISE only. Severity trees are for p10 code review only.",
                    {"phase": str(phase)},
                )
            ]
        if phase != PhaseId.P10_CodeReview:
            return []
        missing = sorted(str(lvl) for lvl in SeverityLevel if lvl not in state.severity_groups)
        if not missing:
            return []
        return [
            ConstraintViolation(
                "C-severity-eager",
                "Phase p10 (code review) requires all 3 severity groups (BLOCKER, IMPORTANT, "
                f"MINOR) to be created eagerly. Missing: {missing}. Severity groups must be "
                "created immediately when review starts, not lazily.",
                {
                    "phase": str(phase),
                    "missing_severity_levels": ",".join(missing),
                    "present_count": str(len(state.severity_groups)),
                },
            )
        ]

    def check_audit_trail(self, state: EpochState) -> list[ConstraintViolation]:
        """C-audit-never-delete / C-audit-dep-chain: history exists and every row says who/why."""
        phase = state.current_phase
        violations: list[ConstraintViolation] = []
        if phase not in (PhaseId.P1_Request, PhaseId.Complete) and not state.transition_history:
            violations.append(
                ConstraintViolation(
                    "C-audit-never-delete",
                    f"State is at phase '{phase}' but transition_history is empty. "
                    "Audit trail must never be deleted or cleared.",
                    {"phase": str(phase), "transition_history_length": "0"},
                )
            )
        for index, record in enumerate(state.transition_history):
            where = f"Transition record #{index} ('{record.from_phase}' → '{record.to_phase}')"
            context = {
                "record_index": str(index),
                "from_phase": str(record.from_phase),
                "to_phase": str(record.to_phase),
            }
            if not record.triggered_by:
                violations.append(
                    ConstraintViolation(
                        "C-audit-dep-chain",
                        f"{where} is missing 'triggered_by'. "
                        "All transitions must record who triggered them.",
                        context,
                    )
                )
            if not record.condition_met:
                violations.append(
                    ConstraintViolation(
                        "C-audit-dep-chain",
                        f"{where} is missing 'condition_met'. "
                        "All transitions must record the condition that was satisfied.",
                        context,
                    )
                )
        return violations

    def check_role_ownership(self, state: EpochState) -> list[ConstraintViolation]:
        """C-vertical-slices: the acting role must be a known protocol role."""
        role = str(state.current_role)
        if role in _KNOWN_ROLES:
            return []
        return [
            ConstraintViolation(
                "C-vertical-slices",
                f"Unknown role {role!r}. Valid roles are: {sorted(_KNOWN_ROLES)}.",
                {"current_role": role, "phase": str(state.current_phase)},
            )
        ]
