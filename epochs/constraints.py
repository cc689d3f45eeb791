"""Runtime protocol constraint checks (C-* ids): the `RuntimeConstraintChecker`.

Checks report, they never block or raise: the state machine's gates decide whether an advance
happens, and the workflow stores what these return as audit events. The checks live in
`state_constraints` (over an `EpochState`) and in `naming_constraints`,
`structural_constraints` and `process_constraints` (over facts the caller passes in); this
class adds the entry points that aggregate them, none of which short-circuits.
"""

from __future__ import annotations

from typing import Any

from epochs.catalogue import HANDOFF_SPECS, ConstraintSpec, ConstraintViolation, HandoffSpec
from epochs.constraint_specs import CONSTRAINT_SPECS
from epochs.naming_constraints import NamingConstraintChecks
from epochs.process_constraints import ProcessConstraintChecks
from epochs.protocol import PhaseId
from epochs.state_constraints import StateConstraintChecks
from epochs.state_machine import BLOCKER_GATED, CONSENSUS_GATED, EpochState
from epochs.structural_constraints import (
    STRUCTURAL_ARGUMENTS,
    STRUCTURAL_CHECKS,
    StructuralConstraintChecks,
)

__all__ = ["ConstraintViolation", "RuntimeConstraintChecker", "check_facts", "check_outcome"]


class RuntimeConstraintChecker(
    StateConstraintChecks,
    NamingConstraintChecks,
    StructuralConstraintChecks,
    ProcessConstraintChecks,
):
    """Evaluate the protocol's constraints; every method returns a list, empty = satisfied.

    The catalogues are injectable for callers that extend the protocol; the checks encode their
    rules directly and do not consult them.
    """

    def __init__(
        self,
        constraint_specs: dict[str, ConstraintSpec] | None = None,
        handoff_specs: dict[str, HandoffSpec] | None = None,
    ) -> None:
        self.constraint_specs = CONSTRAINT_SPECS if constraint_specs is None else constraint_specs
        self.handoff_specs = HANDOFF_SPECS if handoff_specs is None else handoff_specs

    def check_transition(self, state: EpochState, to_phase: PhaseId) -> list[ConstraintViolation]:
        """Return violations of a proposed move (what the `check_constraints` activity runs)."""
        move = (state.current_phase, to_phase)
        violations: list[ConstraintViolation] = []
        if move in CONSENSUS_GATED:
            violations.extend(self.check_review_consensus(state))
        violations.extend(self.check_handoff_required(*move))
        if move in BLOCKER_GATED:
            violations.extend(self.check_blocker_gate(state))
        return violations

    def check_transition_constraints(
        self, state: EpochState, to_phase: PhaseId
    ) -> list[ConstraintViolation]:
        """Return `check_transition(state, to_phase)` (the older name, kept for callers)."""
        return self.check_transition(state, to_phase)

    def check_state(self, state: EpochState) -> list[ConstraintViolation]:
        """Return violations visible in the state itself, whatever the next move."""
        return [
            *self.check_review_consensus(state),
            *self.check_severity_tree(state),
            *self.check_blocker_gate(state),
            *self.check_audit_trail(state),
            *self.check_role_ownership(state),
        ]

    def check_state_constraints(self, state: EpochState) -> list[ConstraintViolation]:
        """Return `check_state(state)` (the older name, kept for callers)."""
        return self.check_state(state)

    def validate(self, state: EpochState) -> list[ConstraintViolation]:
        """Return `check_state(state)`; this makes the checker a `ConstraintValidatorInterface`."""
        return self.check_state(state)

    def check_naming(self, titles: list[str]) -> list[ConstraintViolation]:
        """Return every title's violations of the four naming checks, title by title."""
        violations: list[ConstraintViolation] = []
        for title in titles:
            violations.extend(self.check_proposal_naming(title))
            violations.extend(self.check_review_naming(title))
            violations.extend(self.check_followup_lifecycle(title))
            violations.extend(self.check_agent_commit(title))
        return violations

    def check_structural(self, **kwargs: Any) -> list[ConstraintViolation]:
        """Run each structural check whose arguments are all given (not None), in table order.

        The keywords are those of `STRUCTURAL_ARGUMENTS`, e.g.
        `check_structural(parent_id="a", child_id="b", vote="ACCEPT")` runs C-dep-direction and
        C-review-binary. An argument shared by two checks (`slice_id`, `severity_group_id`)
        feeds both.

        Raises:
            TypeError: a keyword that no check takes (a typo would otherwise check nothing).
        """
        unknown = sorted(set(kwargs) - STRUCTURAL_ARGUMENTS.keys())
        if unknown:
            raise TypeError(f"check_structural() got unexpected keyword arguments: {unknown}")
        violations: list[ConstraintViolation] = []
        for check in STRUCTURAL_CHECKS:
            values = [kwargs.get(name) for name in check.arguments]
            if all(value is not None for value in values):
                violations.extend(getattr(self, check.method)(*values))
        return violations


def check_facts(
    *, titles: list[str] | None = None, **structural: Any
) -> list[ConstraintViolation]:
    """Return the naming violations of `titles`, then the structural ones of the arguments.

    What the REST check endpoint and `aura_msg constraints check` run.
    """
    checker = RuntimeConstraintChecker()
    return [*checker.check_naming(titles or []), *checker.check_structural(**structural)]


def check_outcome(
    from_phase: PhaseId, to_phase: PhaseId, violations: list[ConstraintViolation]
) -> dict[str, Any]:
    """Return the audit payload of a move's constraint check (`constraint_check` events)."""
    return {
        "from": from_phase.value,
        "to": to_phase.value,
        "passed": not violations,
        "violations": [
            {"constraint_id": v.constraint_id, "message": v.message, "context": v.context}
            for v in violations
        ],
    }
