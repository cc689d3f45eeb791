"""The aura-msg vocabulary and output (`epochs.cli`); the interface types (`epochs.interfaces`)."""

import io
import json
from datetime import UTC, datetime

import pytest

from epochs.cli import (
    CmdGroup,
    ErrorCategory,
    OutputFormat,
    SubCommand,
    format_epoch_state,
    format_signal_result,
    format_start_result,
    report_error,
)
from epochs.constraints import RuntimeConstraintChecker
from epochs.inputs import QueryStateResult
from epochs.interfaces import (
    ConstraintValidatorInterface,
    DataPart,
    FilePart,
    FileWithUri,
    ModelId,
    NullSecurityGate,
    NullTranscriptRecorder,
    SecurityGate,
    TextPart,
    ToolCall,
    TranscriptRecorder,
)
from epochs.protocol import (
    PHASE_SPECS,
    PermissionDecision,
    PhaseId,
    ReviewAxis,
    RoleId,
    ToolPermissionRequest,
    VoteType,
)
from epochs.state_machine import TransitionRecord


def test_the_enums_are_the_aura_msg_words() -> None:
    assert [g.value for g in CmdGroup] == ["query", "epoch", "signal", "phase", "session"]
    assert [c.value for c in SubCommand] == [
        "state",
        "start",
        "vote",
        "complete",
        "advance",
        "register",
    ]
    assert [f.value for f in OutputFormat] == ["json", "text"]
    assert [c.value for c in ErrorCategory] == [
        "connection error",
        "workflow error",
        "validation error",
    ]


def test_report_error_prints_four_lines() -> None:
    out = io.StringIO()
    report_error(
        ErrorCategory.Connection, "failed", "refused", "nothing sent", "start it", file=out
    )
    assert out.getvalue() == (
        "connection error: failed\n  why: refused\n  impact: nothing sent\n  fix: start it\n"
    )


def test_start_and_signal_results() -> None:
    assert (
        format_start_result("e-1", "r-1", "text") == "Started epoch: workflow_id=e-1, run_id=r-1"
    )
    assert json.loads(format_start_result("e-1", "r-1", OutputFormat.Json)) == {
        "workflow_id": "e-1",
        "run_id": "r-1",
    }
    assert format_signal_result(True, "text") == "Signal delivered successfully"
    assert format_signal_result(False, "text") == "Signal delivery failed"
    assert json.loads(format_signal_result(False, "json")) == {"success": False}


RECORD = TransitionRecord(
    PhaseId.P1_Request, PhaseId.P2_Elicit, datetime(2026, 1, 1, tzinfo=UTC), "architect", "done"
)


def state(phase: PhaseId, **options) -> QueryStateResult:
    return QueryStateResult(
        current_phase=phase,
        current_role=RoleId.Epoch,
        transition_history=[RECORD],
        votes=options.get("votes", {}),
        last_error=options.get("last_error"),
        available_transitions=list(PHASE_SPECS[phase].transitions) if phase in PHASE_SPECS else [],
        active_session_count=2,
    )


def test_epoch_state_as_text() -> None:
    text = format_epoch_state(
        state(PhaseId.P4_Review, votes={ReviewAxis.Correctness: VoteType.Revise}, last_error="x"),
        "text",
    )
    assert text.splitlines() == [
        "Phase: p4",
        "Role:  epoch",
        "Votes:",
        "  correctness: REVISE",
        "Last Error: x",
        "Available Transitions:",
        "  -> p5 (all 3 reviewers vote ACCEPT)",
        "  -> p3 (any reviewer votes REVISE)",
        "Transitions: 1",
        "Active Sessions: 2",
    ]


def test_a_complete_epoch_has_no_empty_transitions_header() -> None:
    assert format_epoch_state(state(PhaseId.Complete), "text").splitlines() == [
        "Phase: complete",
        "Role:  epoch",
        "Votes: (none)",
        "Transitions: 1",
        "Active Sessions: 2",
    ]


def test_epoch_state_as_json() -> None:
    data = json.loads(format_epoch_state(state(PhaseId.P12_Landing), "json"))
    assert data == {
        "current_phase": "p12",
        "current_role": "epoch",
        "transition_history": [
            {
                "from_phase": "p1",
                "to_phase": "p2",
                "timestamp": "2026-01-01T00:00:00+00:00",
                "triggered_by": "architect",
                "condition_met": "done",
                "success": True,
            }
        ],
        "votes": {},
        "last_error": None,
        "available_transitions": [
            {
                "to_phase": "complete",
                "condition": "git push succeeds, all tasks closed or dependency-resolved",
            }
        ],
        "active_session_count": 2,
    }


@pytest.mark.parametrize(
    ("value", "provider", "model"),
    [("anthropic/claude-opus", "anthropic", "claude-opus"), ("a/b/c", "a", "b/c")],
)
def test_model_id_parses_on_the_first_slash(value: str, provider: str, model: str) -> None:
    parsed = ModelId.parse(value)
    assert (parsed.provider, parsed.model, str(parsed)) == (provider, model, value)


@pytest.mark.parametrize("value", ["claude", "", "/x", "x/"])
def test_model_id_refuses_what_has_no_provider_and_model(value: str) -> None:
    with pytest.raises(
        ValueError, match="^Invalid model ID: .* — expected 'provider/model' format$"
    ):
        ModelId.parse(value)


def test_tool_call_wire_form() -> None:
    assert ToolCall("Bash", {"command": "ls"}).to_json_dict() == {
        "toolName": "Bash",
        "rawInput": {"command": "ls"},
    }
    assert ToolCall("Bash", "ls", raw_output="a", tool_call_id="t-1").to_json_dict() == {
        "toolName": "Bash",
        "rawInput": "ls",
        "rawOutput": "a",
        "toolCallId": "t-1",
    }


def test_content_parts() -> None:
    file = FileWithUri("file:///a.txt")
    assert (file.name, file.mime_type) == (None, None)
    parts = [TextPart("hi"), FilePart(file), DataPart({"k": 1})]
    assert [type(p).__name__ for p in parts] == ["TextPart", "FilePart", "DataPart"]


async def test_the_null_implementations_satisfy_their_protocols() -> None:
    request = ToolPermissionRequest("e", PhaseId.P9_Slice, RoleId.Worker, "Bash", "ls")
    gate = NullSecurityGate()
    assert isinstance(gate, SecurityGate)
    assert gate.check_tool_permission(request) == PermissionDecision(
        allowed=True, reason="NullSecurityGate: always permit"
    )
    recorder = NullTranscriptRecorder()
    assert isinstance(recorder, TranscriptRecorder)
    assert await recorder.record_tool_call("e", ToolCall("Bash", "ls")) is None
    assert isinstance(RuntimeConstraintChecker(), ConstraintValidatorInterface)


def test_a_sessions_model_parses_to_a_model_id() -> None:
    from epochs.models import EpochSession

    assert EpochSession(model="anthropic/claude-opus").model_id == ModelId(
        "anthropic", "claude-opus"
    )
    assert EpochSession(model="opus").model_id is None


@pytest.mark.parametrize(("model", "valid"), [("a/b", True), ("opus", True), ("a/", False)])
def test_the_session_serializer_checks_slashed_model_ids(model: str, valid: bool) -> None:
    from epochs.api.serializers import SessionSerializer

    data = {"session_id": "s-1", "role": "worker", "model": model}
    serializer = SessionSerializer(data=data)
    assert serializer.is_valid() == valid
    if not valid:
        assert "expected 'provider/model' format" in serializer.errors["model"][0]
