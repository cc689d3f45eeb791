"""Payloads of the epoch workflows, signals, updates, queries and activities.

Django-free: the workflow sandbox, the services (starters) and the activities share these.
Field names and enum values are the wire contract; fields Aura added all have
defaults, so payloads without Aura's extra fields still decode.
"""

# No `from __future__ import annotations` here: the payload converter resolves these
# dataclasses' field types on every decode, and string annotations cost an eval each time
# (decoding an epoch's snapshot took 3x as long; see bench/epoch_lifecycle.py).
from dataclasses import dataclass, field
from datetime import datetime

from audit.events import AuditEvent
from epochs.constraints import ConstraintViolation
from epochs.protocol import (
    PhaseId,
    ReviewAxis,
    RoleId,
    SeverityLevel,
    SliceExecutionConfig,
    SliceMode,
    SliceStatus,
    Transition,
    VoteType,
)
from epochs.state_machine import EpochState, TransitionRecord

# Workflow status values, as the AuraStatus search attribute and the Epoch row spell them.
STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"


# --- workflow input / output ----------------------------------------------------------------


@dataclass(frozen=True)
class EpochInput:
    """Start an epoch; `carry` is set only when a run continues as new."""

    epoch_id: str
    request_description: str = ""
    # Continue as new once the history has this many events (0: only when Temporal suggests).
    continue_as_new_after: int = 0
    carry: "EpochCarry | None" = None


@dataclass(frozen=True)
class EpochResult:
    """What a finished epoch returns; `transition_count` includes failed attempts."""

    epoch_id: str
    final_phase: PhaseId
    transition_count: int
    successful_transition_count: int
    constraint_violations_total: int


# --- signals and updates --------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseAdvanceSignal:
    """Ask the epoch to move to `to_phase`.

    `triggered_by` is the caller's label; `actor` is who sent it as authentication says
    (`user:NAME`), set by the services, never by the caller.
    """

    to_phase: PhaseId
    triggered_by: str = ""
    condition_met: str = ""
    actor: str = ""


@dataclass(frozen=True)
class ReviewVoteSignal:
    """One reviewer's vote on one axis.

    `reviewer_id` is a label; `actor` is the authenticated sender. With `distinct_voters`, an
    actor who voted on another axis in the same review round is refused.
    """

    axis: ReviewAxis
    vote: VoteType
    reviewer_id: str = ""
    actor: str = ""
    distinct_voters: bool = False


@dataclass(frozen=True)
class BlockerSignal:
    """Open or resolve a code-review finding, filed by id under its severity."""

    blocker_id: str
    severity: SeverityLevel = SeverityLevel.Blocker
    resolved: bool = False
    description: str = ""
    reported_by: str = ""


@dataclass(frozen=True)
class SessionRegisterSignal:
    """An agent session working on the epoch; the first registration of an id wins."""

    epoch_id: str
    session_id: str
    role: str = ""
    model_harness: str = ""
    model: str = ""


@dataclass(frozen=True)
class SliceProgressSignal:
    """A slice reports a stage; stage `execute` is its final report (`completed` = success)."""

    slice_id: str
    leaf_task_id: str
    stage_name: str
    completed: bool
    output: str = ""
    error: str = ""


@dataclass(frozen=True)
class SliceSubmission:
    """Add a worker slice to the epoch; it runs as a `SliceWorkflow` child in p9.

    With `await_completion` the slice waits (up to `timeout_seconds`) for a `complete_slice`
    signal, as an agent reports through `aura_msg signal complete`.
    """

    slice_id: str
    mode: SliceMode = SliceMode.Mock
    command: str = ""
    timeout_seconds: int = 300
    heartbeat_interval: int = 30
    await_completion: bool = False
    submitted_by: str = ""


# --- children -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceInput:
    """Input of one `SliceWorkflow` (child id `<epoch_id>-slice-<slice_id>`)."""

    epoch_id: str
    slice_id: str
    phase_spec: str
    parent_workflow_id: str
    config: SliceExecutionConfig | None = None
    await_completion: bool = False


@dataclass(frozen=True)
class SliceResult:
    """How a slice ended."""

    slice_id: str
    success: bool
    output: str = ""
    error: str | None = None


@dataclass(frozen=True)
class ReviewInput:
    """Input of one `ReviewPhaseWorkflow` (child id `<epoch_id>-review-<phase>-<cycle>`)."""

    epoch_id: str
    phase_id: str
    cycle: int = 1
    parent_workflow_id: str = ""


@dataclass(frozen=True)
class ReviewPhaseResult:
    """The three axes' votes of one review round; `success` means all ACCEPT."""

    phase_id: str
    success: bool
    vote_result: dict[ReviewAxis, VoteType] = field(default_factory=dict)
    cycle: int = 1


# --- queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryStateResult:
    """The `full_state` query (what `aura_msg query state` prints)."""

    current_phase: PhaseId
    current_role: RoleId
    transition_history: list[TransitionRecord]
    votes: dict[ReviewAxis, VoteType]
    last_error: str | None
    available_transitions: list[Transition]
    active_session_count: int = 0


@dataclass
class SliceRecord:
    """A slice as the epoch tracks it."""

    slice_id: str
    mode: SliceMode = SliceMode.Mock
    command: str = ""
    status: SliceStatus = SliceStatus.Pending
    workflow_id: str = ""
    output: str = ""
    error: str = ""
    timeout_seconds: int = 300
    heartbeat_interval: int = 30
    await_completion: bool = False
    submitted_by: str = ""


@dataclass
class ReviewRound:
    """One p4/p10 review cycle run by a `ReviewPhaseWorkflow` child."""

    phase: PhaseId
    cycle: int
    workflow_id: str
    # open, accepted (all ACCEPT), revised (a REVISE), superseded (left before all voted)
    status: str = "open"
    votes: dict[ReviewAxis, VoteType] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochSnapshot:
    """Everything the API and admin show about a running epoch (the `snapshot` query)."""

    epoch_id: str
    request_description: str
    status: str
    state: EpochState
    available_transitions: list[Transition]
    slices: list[SliceRecord]
    review_rounds: list[ReviewRound]
    sessions: list[SessionRegisterSignal]
    constraint_violations_total: int
    last_violations: list[ConstraintViolation]
    run_count: int


@dataclass
class EpochCarry:
    """The whole workflow state, carried across continue-as-new."""

    state: EpochState
    constraint_violations_total: int = 0
    sessions: list[SessionRegisterSignal] = field(default_factory=list)
    slice_progress: list[SliceProgressSignal] = field(default_factory=list)
    slices: dict[str, SliceRecord] = field(default_factory=dict)
    review_rounds: list[ReviewRound] = field(default_factory=list)
    vote_count: int = 0
    # Who voted on which axis since the phase was entered (cleared with the votes).
    review_voters: dict[ReviewAxis, str] = field(default_factory=dict)
    last_violations: list[ConstraintViolation] = field(default_factory=list)
    run_count: int = 1


# --- activities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordTransitionInput:
    """Persist history row `index` of an epoch, and the epoch's resulting phase."""

    epoch_id: str
    index: int
    record: TransitionRecord
    current_phase: PhaseId
    status: str
    blocker_count: int = 0
    last_error: str | None = None
    actor: str = ""


@dataclass(frozen=True)
class RecordVoteInput:
    """Persist the epoch's vote number `sequence`."""

    epoch_id: str
    sequence: int
    phase: PhaseId
    cycle: int
    axis: ReviewAxis
    vote: VoteType
    reviewer_id: str
    timestamp: datetime
    actor: str = ""


@dataclass(frozen=True)
class RecordBlockerInput:
    """Persist a finding's current state and the epoch's BLOCKER count."""

    epoch_id: str
    blocker: BlockerSignal
    phase: PhaseId
    blocker_count: int
    timestamp: datetime


@dataclass(frozen=True)
class RecordSliceInput:
    """Persist a slice's current state."""

    epoch_id: str
    slice: SliceRecord
    timestamp: datetime


@dataclass(frozen=True)
class RecordSessionInput:
    """Persist a registered agent session."""

    epoch_id: str
    session: SessionRegisterSignal
    timestamp: datetime


@dataclass(frozen=True)
class ConstraintCheckInput:
    """A move's advisory constraint check: the state before the move and the target phase."""

    state: EpochState
    to_phase: PhaseId
    # The role of the check's audit event: the epoch's role once the move is made.
    role: str


@dataclass(frozen=True)
class RecordRequestInput:
    """Everything one processed request writes, for the single local activity that writes it:
    its history row or vote, its audit events and, for a move, the constraint check whose
    violations that activity returns."""

    epoch_id: str
    transition: RecordTransitionInput | None = None
    vote: RecordVoteInput | None = None
    events: list[AuditEvent] = field(default_factory=list)
    check: ConstraintCheckInput | None = None
