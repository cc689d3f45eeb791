"""The epoch activities: constraint checks and the slice command runner."""

import functools
import os
import shutil
import time

import pytest
from temporalio.testing import ActivityEnvironment

from epochs.activities import (
    DISABLED_MESSAGE,
    SliceCommandGate,
    check_constraints,
    execute_slice_command,
    init_slice_commands,
)
from epochs.inputs import SliceResult
from epochs.interfaces import NullTranscriptRecorder, SecurityGate, ToolCall
from epochs.protocol import PermissionDecision, PhaseId, RoleId, ToolPermissionRequest
from epochs.state_machine import EpochState


@pytest.fixture
def commands_allowed(settings):
    settings.AURA_ALLOW_SLICE_COMMANDS = True
    return settings


async def test_check_constraints_reports_the_handoff_reminder() -> None:
    state = EpochState("e-1", PhaseId.P7_Handoff)
    violations = await ActivityEnvironment().run(check_constraints, state, PhaseId.P8_ImplPlan)
    assert [v.constraint_id for v in violations] == ["C-handoff-skill-invocation"]
    assert await ActivityEnvironment().run(check_constraints, state, PhaseId.P6_Ratify) == []


async def test_commands_are_refused_unless_allowed(settings) -> None:
    settings.AURA_ALLOW_SLICE_COMMANDS = False
    result = await ActivityEnvironment().run(execute_slice_command, "touch /tmp/x", "s-1", "e-1")
    assert result == SliceResult("s-1", False, error=DISABLED_MESSAGE)


async def test_allowed_commands_see_their_epoch_and_slice(commands_allowed) -> None:
    result = await ActivityEnvironment().run(
        execute_slice_command, 'echo "$AURA_EPOCH_ID/$AURA_SLICE_ID"', "s-1", "e-1"
    )
    assert result == SliceResult("s-1", True, output="e-1/s-1\n")


async def test_failing_command_reports_code_and_stderr(commands_allowed) -> None:
    result = await ActivityEnvironment().run(
        execute_slice_command, "echo partial; echo boom >&2; exit 3", "s-2", "e-1"
    )
    assert result == SliceResult(
        "s-2", False, output="partial\n", error="Command exited with code 3: boom\n"
    )


async def test_command_is_killed_at_its_timeout_with_heartbeats(commands_allowed) -> None:
    env = ActivityEnvironment()
    beats: list[tuple] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    started = time.monotonic()
    result = await env.run(
        execute_slice_command, "echo started; sleep 30", "s-3", "e-1", None, 0.6, 0.2
    )
    assert time.monotonic() - started < 5
    assert result.success is False
    assert result.error == "Command timed out after 0.6s"
    assert result.output == "started\n"
    assert len(beats) >= 2 and beats[0] == ("s-3",)


async def test_output_is_capped(commands_allowed) -> None:
    commands_allowed.AURA_SLICE_OUTPUT_LIMIT = 10
    result = await ActivityEnvironment().run(
        execute_slice_command, "printf '%s' 0123456789abcdef", "s-4", "e-1"
    )
    assert result.output == "0123456789\n[output truncated: 6 more bytes]"


async def test_search_path_is_where_to_look_for_tmux(commands_allowed, tmp_path) -> None:
    # The fourth parameter says where tmux is looked for; it does not touch the command's PATH.
    missing = await ActivityEnvironment().run(
        execute_slice_command, "echo hi", "s-5", "e-1", str(tmp_path)
    )
    assert missing == SliceResult("s-5", False, error="tmux not found")
    tmux_dir = os.path.dirname(shutil.which("tmux") or "")
    timed_out = await ActivityEnvironment().run(
        execute_slice_command, "sleep 30", "s-5", "e-1", str(tmp_path) + os.pathsep + tmux_dir, 0.5
    )
    assert timed_out.error == "Command timed out after 0.5s"


async def test_path_replaces_the_commands_path(commands_allowed, tmp_path) -> None:
    env = ActivityEnvironment()
    result = await env.run(
        functools.partial(execute_slice_command, path=str(tmp_path)), "git --version", "s-6", "e-1"
    )
    assert result.success is False
    assert "Command exited with code 127" in result.error


@pytest.mark.parametrize(
    ("name", "code"),
    [("AURA_EPOCH_CONTINUE_AS_NEW_AFTER", "aura.E102"), ("AURA_SLICE_OUTPUT_LIMIT", "aura.E103")],
)
def test_negative_sizes_are_a_system_check_error(settings, name, code) -> None:
    from epochs.checks import check_epoch_settings

    setattr(settings, name, -1)
    assert [error.id for error in check_epoch_settings(None)] == [code]


class KeepingRecorder(NullTranscriptRecorder):
    """A transcript recorder that keeps the tool calls it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ToolCall]] = []

    async def record_tool_call(self, epoch_id: str, call: ToolCall) -> None:
        self.calls.append((epoch_id, call))


class DenyAll:
    def check_tool_permission(self, request: ToolPermissionRequest) -> PermissionDecision:
        return PermissionDecision(False, f"no {request.tool_name} for {request.role}")


@pytest.fixture
def plugged():
    yield init_slice_commands
    init_slice_commands()


async def test_the_security_gate_decides_and_the_recorder_gets_the_output(
    commands_allowed, plugged
) -> None:
    recorder = KeepingRecorder()
    plugged(recorder=recorder)
    result = await ActivityEnvironment().run(execute_slice_command, "echo out", "s-7", "e-7")
    assert result.output == "out\n"
    assert recorder.calls == [
        (
            "e-7",
            ToolCall("execute_slice_command", "echo out", raw_output="out\n", tool_call_id="s-7"),
        )
    ]
    plugged(gate=DenyAll(), recorder=recorder)
    refused = await ActivityEnvironment().run(execute_slice_command, "echo out", "s-8", "e-7")
    assert refused == SliceResult("s-8", False, error="no execute_slice_command for worker")
    assert len(recorder.calls) == 1  # a refused command never ran: nothing to record


def test_the_default_gate_is_the_setting(settings) -> None:
    request = ToolPermissionRequest(
        "e", PhaseId.P9_Slice, RoleId.Worker, "execute_slice_command", "ls"
    )
    settings.AURA_ALLOW_SLICE_COMMANDS = False
    assert SliceCommandGate().check_tool_permission(request) == PermissionDecision(
        False, DISABLED_MESSAGE
    )
    settings.AURA_ALLOW_SLICE_COMMANDS = True
    assert SliceCommandGate().check_tool_permission(request).allowed
    assert isinstance(SliceCommandGate(), SecurityGate)
