"""The crisis workflow's data: its request and result dataclasses and one input per activity.

Django-free: the workflow sandbox re-imports this module, and the starters (REST, admin, CLI,
LiaraTemporalAgency) share it with the workflow. Field names are part of the contract.
"""

from dataclasses import dataclass, field

VALIDATION_FAILED = "Crisis request validation failed"


@dataclass
class MissionPhase:
    """One phase of a crisis: an agent performs an action on a target."""

    phase_id: str
    agent_id: str
    action: str
    target: str
    priority: int = 1


@dataclass
class CrisisRequest:
    """The workflow's input."""

    target_member: str
    missions: list[MissionPhase]
    crisis_id: str | None = None
    initiated_by: str | None = None


@dataclass
class CrisisResult:
    """The workflow's result; `failed_phases` is None when no phase failed."""

    success: bool
    crisis_id: str | None = None
    completed_phases: int = 0
    failed_phases: list[str] | None = None
    error: str | None = None


@dataclass
class CrisisProgress:
    """What the `progress` query answers while a crisis runs."""

    crisis_id: str
    state: str  # validating, running, finalizing, done, cancelling
    total_phases: int = 0
    completed_phases: int = 0
    failed_phases: list[str] = field(default_factory=list)
    current_phase: str | None = None


@dataclass
class InitializeCrisisInput:
    crisis_id: str
    target: str
    missions: list[MissionPhase] = field(default_factory=list)
    initiated_by: str | None = None


@dataclass
class PerformAgentMissionInput:
    crisis_id: str
    mission: MissionPhase


@dataclass
class LogMissionPhaseInput:
    crisis_id: str
    phase_id: str
    status: str  # completed | failed
    error: str | None = None


@dataclass
class FinalizeCrisisInput:
    crisis_id: str
    completed: int
    failed: int
    cancelled: bool = False
    error: str | None = None


@dataclass
class ScheduledCrisisInput:
    """What a crisis schedule's every firing starts `ScheduledCrisisWorkflow` with."""

    schedule: str
    target: str
    missions: list[MissionPhase]
    initiated_by: str | None = None
