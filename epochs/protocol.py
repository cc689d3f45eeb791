"""Aura Protocol v3 vocabulary: enums, phase specs and the transition table.

Pure Python (no Django, no Temporal) so the workflow sandbox, the API and the tests can all
import it. Enum values, field names and condition strings are the wire contract; keep them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class PhaseId(StrEnum):
    """The 12 epoch phases plus the terminal sentinel, in lifecycle order."""

    P1_Request = "p1"
    P2_Elicit = "p2"
    P3_Propose = "p3"
    P4_Review = "p4"
    P5_Uat = "p5"
    P6_Ratify = "p6"
    P7_Handoff = "p7"
    P8_ImplPlan = "p8"
    P9_Slice = "p9"
    P10_CodeReview = "p10"
    P11_ImplUat = "p11"
    P12_Landing = "p12"
    Complete = "complete"


class Domain(StrEnum):
    """Who drives a phase: the user, planning or implementation."""

    User = "user"
    Plan = "plan"
    Impl = "impl"


class RoleId(StrEnum):
    """Agent roles that own phases."""

    Epoch = "epoch"
    Architect = "architect"
    Reviewer = "reviewer"
    Supervisor = "supervisor"
    Worker = "worker"


class VoteType(StrEnum):
    """Binary review vote (C-review-binary: nothing but ACCEPT or REVISE)."""

    Accept = "ACCEPT"
    Revise = "REVISE"


class SeverityLevel(StrEnum):
    """Code-review finding severity; only BLOCKER gates p10 → p11."""

    Blocker = "BLOCKER"
    Important = "IMPORTANT"
    Minor = "MINOR"


class ReviewAxis(StrEnum):
    """The three review axes that must all ACCEPT for consensus."""

    Correctness = "correctness"
    TestQuality = "test_quality"
    Elegance = "elegance"


class EventType(StrEnum):
    """Audit event types; every one of them is emitted."""

    PhaseTransition = "phase_transition"
    PhaseAdvance = "phase_advance"
    VoteRecorded = "vote_recorded"
    BlockerRecorded = "blocker_recorded"
    BlockerResolved = "blocker_resolved"
    ConstraintCheck = "constraint_check"


class SliceStatus(StrEnum):
    """Where a p9 worker slice stands; only `succeeded` lets p9 → p10 through."""

    Pending = "pending"
    Running = "running"
    Succeeded = "succeeded"
    Failed = "failed"


class SliceMode(StrEnum):
    """How a worker slice's command is executed."""

    Tmux = "tmux"
    Subprocess = "subprocess"
    Mock = "mock"


@dataclass(frozen=True)
class Transition:
    """One edge of the transition table, with its human-readable condition."""

    to_phase: PhaseId
    condition: str
    action: str | None = None


@dataclass(frozen=True)
class PhaseSpec:
    """A phase's identity, owners and outgoing edges (forward edge first)."""

    id: PhaseId
    number: int
    domain: Domain
    name: str
    owner_roles: frozenset[RoleId]
    transitions: tuple[Transition, ...]


@dataclass(frozen=True)
class SerializableTransition:
    """`Transition` in a shape every JSON payload converter accepts."""

    to_phase: PhaseId
    condition: str
    action: str | None = None


@dataclass(frozen=True)
class SerializablePhaseSpec:
    """`PhaseSpec` with lists instead of frozenset/tuple, for workflow payloads."""

    id: PhaseId
    number: int
    domain: Domain
    name: str
    owner_roles: list[RoleId]
    transitions: list[SerializableTransition]

    @staticmethod
    def from_spec(spec: PhaseSpec) -> SerializablePhaseSpec:
        """Return the payload form of `spec`, keeping transition order."""
        return SerializablePhaseSpec(
            id=spec.id,
            number=spec.number,
            domain=spec.domain,
            name=spec.name,
            owner_roles=list(spec.owner_roles),
            transitions=[
                SerializableTransition(t.to_phase, t.condition, t.action) for t in spec.transitions
            ],
        )


@dataclass(frozen=True)
class PhaseInput:
    """Input of a phase child workflow."""

    epoch_id: str
    phase_spec: SerializablePhaseSpec


@dataclass(frozen=True)
class PhaseResult:
    """Output of a phase child workflow."""

    phase_id: PhaseId
    success: bool
    blocker_count: int = 0
    vote_result: VoteType | None = None


@dataclass(frozen=True)
class PhaseTransitionEvent:
    """An epoch moved from one phase to another."""

    epoch_id: str
    from_phase: PhaseId
    to_phase: PhaseId
    triggered_by: str
    condition_met: str


@dataclass(frozen=True)
class ConstraintCheckEvent:
    """One constraint was evaluated against an epoch."""

    epoch_id: str
    phase: PhaseId
    constraint_id: str
    passed: bool
    message: str | None = None


@dataclass(frozen=True)
class ReviewVoteEvent:
    """A reviewer voted on one axis."""

    epoch_id: str
    phase: PhaseId
    axis: ReviewAxis
    vote: VoteType
    reviewer_id: str


@dataclass(frozen=True)
class SliceExecutionConfig:
    """How and for how long a worker slice's command runs."""

    mode: SliceMode
    command: str
    timeout_seconds: int = 300
    heartbeat_interval: int = 30


@dataclass(frozen=True)
class SliceStartSignal:
    """Start executing a slice."""

    slice_id: str
    epoch_id: str
    config: SliceExecutionConfig


@dataclass(frozen=True)
class SliceCompleteSignal:
    """A slice finished, successfully or not."""

    slice_id: str
    success: bool
    output: str = ""
    error: str = ""


@dataclass(frozen=True)
class ReviewCycleSignal:
    """A slice enters another review cycle."""

    cycle_number: int
    reviewer_feedback: str = ""


@dataclass(frozen=True)
class ReviewCycleRecord:
    """One review cycle as remembered by the slice."""

    cycle_number: int
    reviewer_feedback: str


@dataclass(frozen=True)
class ToolPermissionRequest:
    """Ask whether a role may use a tool in a phase."""

    epoch_id: str
    phase: PhaseId
    role: RoleId
    tool_name: str
    tool_input_summary: str


@dataclass(frozen=True)
class PermissionDecision:
    """Answer to a `ToolPermissionRequest`."""

    allowed: bool
    reason: str | None = None


def _spec(
    phase: PhaseId,
    domain: Domain,
    name: str,
    roles: set[RoleId],
    *transitions: Transition,
) -> PhaseSpec:
    """Build a spec; the epoch role co-owns every phase and the number comes from the id."""
    return PhaseSpec(
        id=phase,
        number=int(phase.value.removeprefix("p")),
        domain=domain,
        name=name,
        owner_roles=frozenset({RoleId.Epoch, *roles}),
        transitions=transitions,
    )


_REVISE = "any reviewer votes REVISE"
_USER_CHANGES = "user requests changes"

# Forward edge first, then the backward loop: available_transitions keeps this order.
PHASE_SPECS: dict[PhaseId, PhaseSpec] = {
    spec.id: spec
    for spec in (
        _spec(
            PhaseId.P1_Request,
            Domain.User,
            "Request",
            {RoleId.Architect},
            Transition(
                PhaseId.P2_Elicit, "classification confirmed, research and explore complete"
            ),
        ),
        _spec(
            PhaseId.P2_Elicit,
            Domain.User,
            "Elicit",
            {RoleId.Architect},
            Transition(PhaseId.P3_Propose, "URD created with structured requirements"),
        ),
        _spec(
            PhaseId.P3_Propose,
            Domain.Plan,
            "Propose",
            {RoleId.Architect},
            Transition(PhaseId.P4_Review, "proposal created"),
        ),
        _spec(
            PhaseId.P4_Review,
            Domain.Plan,
            "Review",
            {RoleId.Architect, RoleId.Reviewer},
            Transition(PhaseId.P5_Uat, "all 3 reviewers vote ACCEPT"),
            Transition(
                PhaseId.P3_Propose,
                _REVISE,
                "create PROPOSAL-{N+1}, mark current aura:superseded",
            ),
        ),
        _spec(
            PhaseId.P5_Uat,
            Domain.User,
            "Plan UAT",
            {RoleId.Architect},
            Transition(PhaseId.P6_Ratify, "user accepts plan"),
            Transition(PhaseId.P3_Propose, _USER_CHANGES, "create PROPOSAL-{N+1}"),
        ),
        _spec(
            PhaseId.P6_Ratify,
            Domain.Plan,
            "Ratify",
            {RoleId.Architect},
            Transition(PhaseId.P7_Handoff, "proposal ratified, IMPL_PLAN placeholder created"),
        ),
        _spec(
            PhaseId.P7_Handoff,
            Domain.Plan,
            "Handoff",
            {RoleId.Architect, RoleId.Supervisor},
            Transition(PhaseId.P8_ImplPlan, "handoff document stored at .git/.aura/handoff/"),
        ),
        _spec(
            PhaseId.P8_ImplPlan,
            Domain.Impl,
            "Impl Plan",
            {RoleId.Supervisor},
            Transition(
                PhaseId.P9_Slice,
                "all slices created with leaf tasks, assigned, and dependency-chained",
            ),
        ),
        _spec(
            PhaseId.P9_Slice,
            Domain.Impl,
            "Worker Slices",
            {RoleId.Supervisor, RoleId.Worker},
            Transition(PhaseId.P10_CodeReview, "all slices complete, quality gates pass"),
        ),
        _spec(
            PhaseId.P10_CodeReview,
            Domain.Impl,
            "Code Review",
            {RoleId.Supervisor, RoleId.Reviewer},
            Transition(PhaseId.P11_ImplUat, "all 3 reviewers ACCEPT, all BLOCKERs resolved"),
            Transition(
                PhaseId.P9_Slice, _REVISE, "fix BLOCKERs in affected slices, then re-review"
            ),
        ),
        _spec(
            PhaseId.P11_ImplUat,
            Domain.User,
            "Impl UAT",
            {RoleId.Supervisor},
            Transition(PhaseId.P12_Landing, "user accepts implementation"),
            Transition(PhaseId.P9_Slice, _USER_CHANGES, "create fix tasks in affected slices"),
        ),
        _spec(
            PhaseId.P12_Landing,
            Domain.Impl,
            "Landing",
            {RoleId.Supervisor},
            Transition(
                PhaseId.Complete, "git push succeeds, all tasks closed or dependency-resolved"
            ),
        ),
    )
}

PHASE_DOMAIN: dict[PhaseId, Domain] = {phase: spec.domain for phase, spec in PHASE_SPECS.items()}


def phase_name(phase: PhaseId) -> str:
    """Return the snake_case name of a phase ("P8_ImplPlan" → "impl_plan")."""
    suffix = phase.name.partition("_")[2]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", suffix).lower()


def _phase_aliases() -> dict[str, PhaseId]:
    """Map every accepted spelling, normalised to hyphens, to its phase."""
    aliases: dict[str, PhaseId] = {PhaseId.Complete.value: PhaseId.Complete}
    for phase in PHASE_SPECS:
        # Keys use hyphens because input is normalised `_` → `-`: this is what lets
        # "impl_plan", "impl-plan", "p8-impl_plan" and "p8-impl-plan" all parse
        # (keys without an underscore, so every phase is reachable).
        name = phase_name(phase).replace("_", "-")
        number = phase.value.removeprefix("p")
        aliases.update({phase.value: phase, number: phase, f"{phase}-{name}": phase, name: phase})
    return aliases


_PHASE_ALIASES = _phase_aliases()


def parse_phase_id(value: str) -> PhaseId:
    """Parse a CLI/REST phase spelling: "p8", "8", "p8-impl-plan", "impl_plan", "complete".

    Raises:
        ValueError: `value` names no phase; the message lists every valid spelling.
    """
    parsed = _PHASE_ALIASES.get(value.strip().lower().replace("_", "-"))
    if parsed is not None:
        return parsed
    lines: list[str] = []
    for phase in PHASE_SPECS:
        name = phase_name(phase)
        number = phase.value.removeprefix("p")
        lines.append(f"  {number:>2}  {phase.value:<4} {phase.value + '-' + name:<20} ({name})")
    lines.append("       complete")
    listing = "\n".join(lines)
    raise ValueError(f"'{value}' is not a valid phase. Valid phases:\n{listing}")
