"""The epoch activities: constraint checks, the records in Postgres, and slice commands.

Activity names are the function names the workflows call them by. The record activities are
sync (they use the ORM on the worker's thread pool) and idempotent: the workflow numbers what
they store, so a retry rewrites the same row.
"""

import asyncio
import os
import shutil
import signal

from temporalio import activity

from audit.activities import require_trail
from audit.events import AuditEvent
from aura_site.db import db_sync_to_async
from epochs import conf, records
from epochs.constraints import ConstraintViolation, RuntimeConstraintChecker, check_outcome
from epochs.inputs import (
    RecordBlockerInput,
    RecordRequestInput,
    RecordSessionInput,
    RecordSliceInput,
    RecordTransitionInput,
    RecordVoteInput,
    SliceResult,
)
from epochs.interfaces import NullTranscriptRecorder, SecurityGate, ToolCall, TranscriptRecorder
from epochs.protocol import (
    EventType,
    PermissionDecision,
    PhaseId,
    RoleId,
    ToolPermissionRequest,
)
from epochs.state_machine import EpochState

# Stored on the slice and shown to API users: it names no setting (docs/epochs.md does).
DISABLED_MESSAGE = "Slice commands are disabled on this worker."
SLICE_COMMAND_TOOL = "execute_slice_command"


class SliceCommandGate:
    """Permit slice commands only on a worker started with AURA_ALLOW_SLICE_COMMANDS=1."""

    def check_tool_permission(self, request: ToolPermissionRequest) -> PermissionDecision:
        if request.tool_name == SLICE_COMMAND_TOOL and not conf.allow_slice_commands():
            return PermissionDecision(allowed=False, reason=DISABLED_MESSAGE)
        return PermissionDecision(allowed=True)


_gate: SecurityGate = SliceCommandGate()
_recorder: TranscriptRecorder = NullTranscriptRecorder()


def init_slice_commands(
    *, gate: SecurityGate | None = None, recorder: TranscriptRecorder | None = None
) -> None:
    """Plug in the gate that decides slice commands and the recorder of their output.

    None restores the defaults: `SliceCommandGate` and `NullTranscriptRecorder`.
    """
    global _gate, _recorder
    _gate = gate or SliceCommandGate()
    _recorder = recorder or NullTranscriptRecorder()


@activity.defn
async def check_constraints(state: EpochState, to_phase: PhaseId) -> list[ConstraintViolation]:
    """Return the runtime constraint violations of a proposed move (they never block it)."""
    return RuntimeConstraintChecker().check_transition(state, PhaseId(to_phase))


@activity.defn
def record_transition(data: RecordTransitionInput) -> None:
    """Persist a transition (or refused attempt) and the epoch's resulting phase."""
    records.save_transition(data)
    activity.logger.info(
        "Transition recorded: %s -> %s (triggered_by=%s)",
        data.record.from_phase,
        data.record.to_phase,
        data.record.triggered_by,
    )


@activity.defn
def record_vote(data: RecordVoteInput) -> None:
    """Persist a review vote."""
    records.save_vote(data)


@activity.defn
async def record_request(data: RecordRequestInput) -> list[ConstraintViolation]:
    """Write what one processed request changed and return its move's constraint violations.

    One local activity per request instead of one per row, check and audit event (a move took
    four): each costs the workflow an activation and a marker. The history row or vote is
    written in one transaction, then the events go through the worker's audit trail in order,
    the check's last. Retrying it is safe: rows are upserts keyed by the workflow's numbering,
    the trail keys each event by this activity and its position, and the check is pure.
    """
    trail = require_trail()  # an unconfigured worker fails the request before writing anything
    events = list(data.events)
    violations: list[ConstraintViolation] = []
    if data.check is not None:
        check = data.check
        violations = RuntimeConstraintChecker().check_transition(
            check.state, PhaseId(check.to_phase)
        )
        phase = check.state.current_phase
        events.append(
            AuditEvent(
                epoch_id=data.epoch_id,
                event_type=EventType.ConstraintCheck.value,
                phase=str(phase),
                role=check.role,
                payload=check_outcome(phase, PhaseId(check.to_phase), violations),
            )
        )
    if data.transition is not None or data.vote is not None:
        await db_sync_to_async(records.save_request)(data)
    for event in events:
        await trail.record_event(event)
    return violations


@activity.defn
def record_blocker(data: RecordBlockerInput) -> None:
    """Persist a review finding's state."""
    records.save_blocker(data)


@activity.defn
def record_slice(data: RecordSliceInput) -> None:
    """Persist a worker slice's state."""
    records.save_slice(data)


@activity.defn
def record_session(data: RecordSessionInput) -> None:
    """Persist an agent session."""
    records.save_session(data)


async def _read_capped(stream: asyncio.StreamReader, limit: int) -> str:
    """Read `stream` to its end, keeping at most `limit` bytes (the rest is drained)."""
    kept = bytearray()
    dropped = 0
    while chunk := await stream.read(65536):
        room = limit - len(kept)
        kept += chunk[:room]
        dropped += max(0, len(chunk) - room)
    text = kept.decode("utf-8", errors="replace")
    if dropped:
        text += f"\n[output truncated: {dropped} more bytes]"
    return text


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the command and everything it started (it leads its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@activity.defn
async def execute_slice_command(
    command: str,
    slice_id: str,
    epoch_id: str,
    search_path: str | None = None,
    timeout_seconds: float = 300,
    heartbeat_interval: float = 30,
    path: str | None = None,
) -> SliceResult:
    """Run a slice's command in a shell subprocess and report how it ended.

    Args:
        command: The shell command.
        slice_id: The slice it runs for (also `AURA_SLICE_ID` in its environment).
        epoch_id: The epoch (also `AURA_EPOCH_ID`).
        search_path: Where to look for tmux (a PATH-style list; None: the worker's PATH).
            Without tmux there the command does not run.
        timeout_seconds: The command is killed after this long.
        heartbeat_interval: Seconds between heartbeats while it runs.
        path: Replaces the command's PATH (None: the worker's).

    The security gate decides first (by default: refused unless AURA_ALLOW_SLICE_COMMANDS=1);
    each output stream keeps at most AURA_SLICE_OUTPUT_LIMIT bytes; the outcome goes to the
    transcript recorder as a `ToolCall`.
    """
    decision = _gate.check_tool_permission(
        ToolPermissionRequest(
            epoch_id, PhaseId.P9_Slice, RoleId.Worker, SLICE_COMMAND_TOOL, command
        )
    )
    if not decision.allowed:
        return SliceResult(
            slice_id, False, error=decision.reason or "Refused by the security gate"
        )
    if shutil.which("tmux", path=search_path) is None:
        return SliceResult(slice_id, False, error="tmux not found")
    env = dict(os.environ, AURA_EPOCH_ID=epoch_id, AURA_SLICE_ID=slice_id)
    if path is not None:
        env["PATH"] = path
    result = await _run(command, slice_id, env, timeout_seconds, heartbeat_interval)
    call = ToolCall(SLICE_COMMAND_TOOL, command, raw_output=result.output, tool_call_id=slice_id)
    await _recorder.record_tool_call(epoch_id, call)
    return result


async def _run(
    command: str,
    slice_id: str,
    env: dict[str, str],
    timeout_seconds: float,
    heartbeat_interval: float,
) -> SliceResult:
    """Run `command` to its end or its timeout, heartbeating, and return the outcome."""
    limit = conf.slice_output_limit()
    try:
        process = await asyncio.create_subprocess_shell(
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return SliceResult(slice_id, False, error=f"Failed to execute command: {exc}")
    assert process.stdout is not None and process.stderr is not None
    stdout = asyncio.create_task(_read_capped(process.stdout, limit))
    stderr = asyncio.create_task(_read_capped(process.stderr, limit))
    exited = asyncio.create_task(process.wait())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    tick = max(heartbeat_interval, 0.1)
    timed_out = False
    try:
        while not exited.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                timed_out = True
                _kill(process)
                break
            await asyncio.wait({exited}, timeout=min(tick, remaining))
            activity.heartbeat(slice_id)
        returncode = await exited
        output, errors = await stdout, await stderr
    except asyncio.CancelledError:
        _kill(process)  # cancelled (e.g. the epoch was cancelled): leave nothing running
        raise
    if timed_out:
        return SliceResult(
            slice_id, False, output=output, error=f"Command timed out after {timeout_seconds}s"
        )
    if returncode != 0:
        return SliceResult(
            slice_id,
            False,
            output=output,
            error=f"Command exited with code {returncode}: {errors}",
        )
    return SliceResult(slice_id, True, output=output)


ACTIVITIES = [
    check_constraints,
    record_request,
    record_transition,
    record_vote,
    record_blocker,
    record_slice,
    record_session,
    execute_slice_command,
]
