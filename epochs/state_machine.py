"""Epoch lifecycle state machine: the transition table plus the consensus and BLOCKER gates.

Pure Python so it is unit-testable without a server and deterministic inside a workflow: the
EpochWorkflow owns one instance per epoch and passes `workflow.now()` wherever a timestamp is
recorded. Only `validate_advance` blocks a move; constraint checks merely report.
"""

# No `from __future__ import annotations` here: the payload converter resolves these
# dataclasses' field types on every decode, and string annotations cost an eval each time
# (decoding an epoch's snapshot took 3x as long; see bench/epoch_lifecycle.py).
from dataclasses import dataclass, field
from datetime import UTC, datetime

from epochs.protocol import (
    PHASE_SPECS,
    PhaseId,
    PhaseSpec,
    ReviewAxis,
    RoleId,
    SeverityLevel,
    SliceStatus,
    Transition,
    VoteType,
)

# Forward moves out of a review phase need all three axes to ACCEPT.
CONSENSUS_GATED: frozenset[tuple[PhaseId, PhaseId]] = frozenset(
    {
        (PhaseId.P4_Review, PhaseId.P5_Uat),
        (PhaseId.P10_CodeReview, PhaseId.P11_ImplUat),
    }
)
# Code review cannot be left forwards while any BLOCKER is open.
BLOCKER_GATED: frozenset[tuple[PhaseId, PhaseId]] = frozenset(
    {(PhaseId.P10_CodeReview, PhaseId.P11_ImplUat)}
)
# Worker slices must all have succeeded before code review starts.
SLICE_GATED: frozenset[tuple[PhaseId, PhaseId]] = frozenset(
    {(PhaseId.P9_Slice, PhaseId.P10_CodeReview)}
)
# In these phases a single REVISE vote leaves only the backward loop available.
REVISE_DRIVES_BACK: frozenset[PhaseId] = frozenset({PhaseId.P4_Review, PhaseId.P10_CodeReview})
REVIEW_PHASES = (PhaseId.P4_Review, PhaseId.P10_CodeReview)
SLICE_PHASES = (PhaseId.P8_ImplPlan, PhaseId.P9_Slice)
COMPLETE_MESSAGE = "Epoch is already COMPLETE; no further transitions are possible."


@dataclass(frozen=True)
class TransitionRecord:
    """One advance attempt; `success=False` rows are refused attempts kept for display."""

    from_phase: PhaseId
    to_phase: PhaseId
    timestamp: datetime
    triggered_by: str
    condition_met: str
    success: bool = True


@dataclass
class EpochState:
    """Everything the workflow carries for one epoch (also across continue-as-new)."""

    epoch_id: str
    current_phase: PhaseId
    completed_phases: set[PhaseId] = field(default_factory=set)
    review_votes: dict[ReviewAxis, VoteType] = field(default_factory=dict)
    blocker_count: int = 0
    current_role: RoleId = RoleId.Epoch
    # Open findings by severity; BLOCKER ids are what keeps blocker_count above zero.
    severity_groups: dict[SeverityLevel, set[str]] = field(default_factory=dict)
    transition_history: list[TransitionRecord] = field(default_factory=list)
    last_error: str | None = None
    # p9 worker slices by id; any that has not succeeded closes the slice gate.
    slices: dict[str, SliceStatus] = field(default_factory=dict)


class TransitionError(Exception):
    """Raised when an advance is refused; `violations` says why (never empty)."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("; ".join(violations))


class EpochStateMachine:
    """The 12-phase lifecycle of one epoch.

    `specs` is injectable so tests can use a smaller table; it defaults to `PHASE_SPECS`.
    """

    def __init__(self, epoch_id: str, specs: dict[PhaseId, PhaseSpec] | None = None) -> None:
        self._specs = PHASE_SPECS if specs is None else specs
        self._state = EpochState(epoch_id=epoch_id, current_phase=PhaseId.P1_Request)

    @classmethod
    def from_state(
        cls, state: EpochState, specs: dict[PhaseId, PhaseSpec] | None = None
    ) -> "EpochStateMachine":
        """Return a machine around existing state, e.g. state carried over continue-as-new."""
        machine = cls(state.epoch_id, specs)
        machine._state = state
        return machine

    @property
    def state(self) -> EpochState:
        """Return the live state (mutate it only through this machine)."""
        return self._state

    @property
    def available_transitions(self) -> list[Transition]:
        """Return the moves `advance` would accept now, in table order."""
        current = self._state.current_phase
        spec = self._specs.get(current)
        if current == PhaseId.Complete or spec is None:
            return []
        transitions = list(spec.transitions)
        if current in REVISE_DRIVES_BACK and self._has_revise():
            gated = CONSENSUS_GATED | BLOCKER_GATED
            return [t for t in transitions if (current, t.to_phase) not in gated]
        if not self.has_consensus():
            transitions = [t for t in transitions if (current, t.to_phase) not in CONSENSUS_GATED]
        if self._state.blocker_count > 0:
            transitions = [t for t in transitions if (current, t.to_phase) not in BLOCKER_GATED]
        if self.open_slices():
            transitions = [t for t in transitions if (current, t.to_phase) not in SLICE_GATED]
        return transitions

    def validate_advance(self, to_phase: PhaseId) -> list[str]:
        """Return why advancing to `to_phase` would be refused; empty means it is allowed."""
        current = self._state.current_phase
        if current == PhaseId.Complete:
            return [COMPLETE_MESSAGE]
        spec = self._specs.get(current)
        if spec is None:
            return [f"Current phase {current!r} has no spec in the transition table."]
        targets = {t.to_phase for t in spec.transitions}
        if to_phase not in targets:
            return [
                f"Transition {current!r} → {to_phase!r} is not in the transition table. "
                f"Valid targets: {sorted(t.value for t in targets)}"
            ]

        violations: list[str] = []
        votes = self._state.review_votes
        if (current, to_phase) in CONSENSUS_GATED and not self.has_consensus():
            voted = sorted(str(a) for a in votes)
            accepted = sorted(str(a) for a, v in votes.items() if v == VoteType.Accept)
            violations.append(
                f"Consensus required for {current!r} → {to_phase!r}: all 3 axes "
                f"(correctness, test_quality, elegance) must ACCEPT. "
                f"Axes with votes: {voted}, accepted: {accepted}."
            )
        if (current, to_phase) in BLOCKER_GATED and self._state.blocker_count > 0:
            violations.append(
                f"BLOCKER gate for {current!r} → {to_phase!r}: "
                f"{self._state.blocker_count} unresolved blocker(s) must be resolved first."
            )
        open_slices = self.open_slices()
        if (current, to_phase) in SLICE_GATED and open_slices:
            violations.append(
                f"Slice gate for {current!r} → {to_phase!r}: {len(open_slices)} slice(s) "
                f"unfinished or failed: {open_slices}."
            )
        return violations

    def advance(
        self,
        to_phase: PhaseId,
        *,
        triggered_by: str,
        condition_met: str,
        timestamp: datetime | None = None,
    ) -> TransitionRecord:
        """Move to `to_phase` and return the history record.

        Args:
            to_phase: Target phase; must be reachable per `validate_advance`.
            triggered_by: Who asked for the move (kept in the audit history).
            condition_met: The condition the caller claims is satisfied.
            timestamp: When it happened; workflows pass `workflow.now()` for determinism.

        Raises:
            TransitionError: The move is refused; the state is left untouched.
        """
        violations = self.validate_advance(to_phase)
        if violations:
            raise TransitionError(violations)

        state = self._state
        record = TransitionRecord(
            from_phase=state.current_phase,
            to_phase=PhaseId(to_phase),
            timestamp=datetime.now(UTC) if timestamp is None else timestamp,
            triggered_by=triggered_by,
            condition_met=condition_met,
        )
        state.completed_phases.add(state.current_phase)
        state.current_phase = record.to_phase
        state.transition_history.append(record)
        if record.to_phase == PhaseId.P10_CodeReview:
            # C-severity-eager: all three groups exist as soon as code review starts; findings
            # filed earlier (or in a previous review round) are kept, never reset.
            for level in SeverityLevel:
                state.severity_groups.setdefault(level, set())
        # Votes belong to one review round; blockers outlive it until resolved.
        state.review_votes.clear()
        state.last_error = None
        return record

    def record_failed_attempt(
        self,
        to_phase: PhaseId,
        error: TransitionError,
        *,
        triggered_by: str,
        timestamp: datetime | None = None,
    ) -> TransitionRecord:
        """Log a refused advance in the history and `last_error`, without moving or clearing votes.

        The workflow calls this after catching `TransitionError` so the attempt stays visible;
        the "FAILED: " prefix is for display, code must test `success`.
        """
        record = TransitionRecord(
            from_phase=self._state.current_phase,
            to_phase=to_phase,
            timestamp=datetime.now(UTC) if timestamp is None else timestamp,
            triggered_by=triggered_by,
            condition_met=f"FAILED: {error}",
            success=False,
        )
        self._state.transition_history.append(record)
        self._state.last_error = str(error)
        return record

    def record_vote(self, axis: ReviewAxis | str, vote: VoteType | str) -> None:
        """Record one axis's vote; a later vote on the same axis replaces it.

        Raises:
            ValueError: `axis` is not a review axis or `vote` is not ACCEPT/REVISE.
        """
        try:
            parsed_axis = ReviewAxis(axis)
        except ValueError:
            valid = sorted(a.value for a in ReviewAxis)
            raise ValueError(f"Invalid review axis {axis!r}. Must be one of {valid}.") from None
        try:
            parsed_vote = VoteType(vote)
        except ValueError:
            valid = [v.value for v in VoteType]
            raise ValueError(f"Invalid vote {vote!r}. Must be one of {valid}.") from None
        self._state.review_votes[parsed_axis] = parsed_vote

    def has_consensus(self) -> bool:
        """Return True when all three axes have voted ACCEPT."""
        votes = self._state.review_votes
        return all(votes.get(axis) == VoteType.Accept for axis in ReviewAxis)

    def record_blocker(
        self,
        blocker_id: str = "",
        *,
        severity: SeverityLevel = SeverityLevel.Blocker,
        resolved: bool = False,
    ) -> bool:
        """Open or resolve a review finding; only BLOCKERs count toward the p10 → p11 gate.

        A finding with an id is filed under its severity group. Without an id only the BLOCKER
        count moves (`record_blocker(resolved=...)`).
        The count never drops below zero.

        Returns:
            True if the state changed; re-opening an open finding or resolving one that is not
            open is a no-op, so a redelivered signal cannot double-count.
        """
        state = self._state
        severity = SeverityLevel(severity)
        if blocker_id:
            open_ids = state.severity_groups.get(severity, set())
            if (blocker_id in open_ids) != resolved:
                return False
            if resolved:
                open_ids.remove(blocker_id)
            else:
                state.severity_groups.setdefault(severity, set()).add(blocker_id)
        elif severity != SeverityLevel.Blocker or (resolved and state.blocker_count == 0):
            return False
        if severity == SeverityLevel.Blocker:
            state.blocker_count = max(0, state.blocker_count + (-1 if resolved else 1))
        return True

    def record_slice(self, slice_id: str, status: SliceStatus | str) -> None:
        """Set a worker slice's status (a resubmitted slice goes back to pending/running)."""
        self._state.slices[slice_id] = SliceStatus(status)

    def open_slices(self) -> list[str]:
        """Return the ids of slices that have not succeeded, sorted."""
        return sorted(
            slice_id
            for slice_id, status in self._state.slices.items()
            if status != SliceStatus.Succeeded
        )

    # --- rules of the other requests: why each would be refused (empty: allowed) ---------

    def complete_violations(self) -> list[str]:
        """Refuse every request once the epoch is complete."""
        return [COMPLETE_MESSAGE] if self._state.current_phase == PhaseId.Complete else []

    def vote_violations(self) -> list[str]:
        """Votes are taken in the review phases only."""
        phase = self._state.current_phase
        if phase in REVIEW_PHASES:
            return []
        return self.complete_violations() or [
            f"Votes are only accepted in the review phases p4 and p10; "
            f"the epoch is in {phase.value}."
        ]

    def severity_of(
        self, blocker_id: str, severity: SeverityLevel | str, resolved: bool
    ) -> SeverityLevel:
        """Return a finding's severity; a resolution finds it by id among the open ones."""
        if resolved:
            for level, ids in self._state.severity_groups.items():
                if blocker_id in ids:
                    return SeverityLevel(level)
        return SeverityLevel(severity)

    def blocker_violations(
        self, blocker_id: str, severity: SeverityLevel | str, resolved: bool
    ) -> list[str]:
        """A finding needs an id; only an open one can be resolved, and only once opened."""
        if violations := self.complete_violations():
            return violations
        if not blocker_id:
            return ["A finding needs a blocker_id."]
        level = self.severity_of(blocker_id, severity, resolved)
        open_ids = self._state.severity_groups.get(level, set())
        if resolved and blocker_id not in open_ids:
            return [f"Finding {blocker_id!r} is not open."]
        if not resolved and blocker_id in open_ids:
            return [f"Finding {blocker_id!r} is already open."]
        return []

    def slice_violations(self, slice_id: str) -> list[str]:
        """Slices are submitted in p8/p9, and not again while pending or running."""
        if violations := self.complete_violations():
            return violations
        phase = self._state.current_phase
        if phase not in SLICE_PHASES:
            return [
                f"Slices can only be submitted in p8 (Impl Plan) or p9 (Worker Slices); "
                f"the epoch is in {phase.value}."
            ]
        status = self._state.slices.get(slice_id)
        if status in (SliceStatus.Pending, SliceStatus.Running):
            return [f"Slice {slice_id!r} is already {status.value}."]
        return []

    def _has_revise(self) -> bool:
        """Return True if any axis has voted REVISE."""
        return VoteType.Revise in self._state.review_votes.values()
