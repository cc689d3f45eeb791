"""Integration contracts of the protocol: content types and the plug-in protocols.

Pure Python. `SecurityGate` decides whether an agent may use a tool, `TranscriptRecorder` keeps
what happened for later reading, `ConstraintValidatorInterface` is what `RuntimeConstraintChecker`
satisfies. The Null implementations are the defaults when nothing else is plugged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from epochs.catalogue import ConstraintViolation
from epochs.protocol import (
    ConstraintCheckEvent,
    PermissionDecision,
    PhaseTransitionEvent,
    ReviewVoteEvent,
    ToolPermissionRequest,
)
from epochs.state_machine import EpochState


@dataclass(frozen=True)
class ModelId:
    """A model as `provider/model`; the model part may itself contain slashes."""

    provider: str
    model: str

    @classmethod
    def parse(cls, value: str) -> ModelId:
        """Split `value` on its first "/".

        Raises:
            ValueError: `value` has no "/" or an empty side.
        """
        provider, _, model = value.partition("/")
        if not provider or not model:
            raise ValueError(f"Invalid model ID: {value!r} — expected 'provider/model' format")
        return cls(provider, model)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class ToolCall:
    """One tool invocation by an agent, with its output once known."""

    tool_name: str
    raw_input: Any
    raw_output: Any = None
    tool_call_id: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Return the camelCase wire form; unset optional members are left out."""
        data: dict[str, Any] = {"toolName": self.tool_name, "rawInput": self.raw_input}
        if self.raw_output is not None:
            data["rawOutput"] = self.raw_output
        if self.tool_call_id is not None:
            data["toolCallId"] = self.tool_call_id
        return data


@dataclass(frozen=True)
class FileWithUri:
    """A file referenced by URI."""

    uri: str
    name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class TextPart:
    """Plain text content."""

    text: str


@dataclass(frozen=True)
class FilePart:
    """A file as content."""

    file_with_uri: FileWithUri


@dataclass(frozen=True)
class DataPart:
    """Structured content."""

    data: dict[str, Any]


Part = TextPart | FilePart | DataPart


@runtime_checkable
class ConstraintValidatorInterface(Protocol):
    """Anything that can judge an epoch's state against the protocol's constraints."""

    def validate(self, state: EpochState) -> list[ConstraintViolation]: ...


@runtime_checkable
class TranscriptRecorder(Protocol):
    """Where the events of an epoch's agents are kept for later reading.

    `record_tool_call` is Aura's addition: slice commands report their captured output there.
    """

    async def record_phase_transition(self, event: PhaseTransitionEvent) -> None: ...

    async def record_constraint_check(self, event: ConstraintCheckEvent) -> None: ...

    async def record_review_vote(self, event: ReviewVoteEvent) -> None: ...

    async def record_tool_call(self, epoch_id: str, call: ToolCall) -> None: ...


@runtime_checkable
class SecurityGate(Protocol):
    """Decides whether a role may use a tool in a phase."""

    def check_tool_permission(self, request: ToolPermissionRequest) -> PermissionDecision: ...


class NullTranscriptRecorder:
    """Record nothing."""

    async def record_phase_transition(self, event: PhaseTransitionEvent) -> None:
        return None

    async def record_constraint_check(self, event: ConstraintCheckEvent) -> None:
        return None

    async def record_review_vote(self, event: ReviewVoteEvent) -> None:
        return None

    async def record_tool_call(self, epoch_id: str, call: ToolCall) -> None:
        return None


class NullSecurityGate:
    """Permit everything."""

    def check_tool_permission(self, request: ToolPermissionRequest) -> PermissionDecision:
        return PermissionDecision(allowed=True, reason="NullSecurityGate: always permit")
