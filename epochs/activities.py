"""The epoch activities: constraint checks, the records in Postgres, and slice commands.

Activity names are the function names the workflows call them by. The record activities are
sync (they use the ORM on the worker's thread pool) and idempotent: the workflow numbers what
they store, so a retry rewrites the same row.
"""

import asyncio
import os
import signal

from temporalio import activity

from epochs import conf, services
from epochs.constraints import ConstraintViolation, RuntimeConstraintChecker
from epochs.inputs import (
    RecordBlockerInput,
    RecordSessionInput,
    RecordSliceInput,
    RecordTransitionInput,
    RecordVoteInput,
    SliceResult,
)
from epochs.protocol import PhaseId
from epochs.state_machine import EpochState

# Stored on the slice and shown to API users: it names no setting (docs/epochs.md does).
DISABLED_MESSAGE = "Slice commands are disabled on this worker."


@activity.defn
async def check_constraints(state: EpochState, to_phase: PhaseId) -> list[ConstraintViolation]:
    """Return the runtime constraint violations of a proposed move (they never block it)."""
    return RuntimeConstraintChecker().check_transition(state, PhaseId(to_phase))


@activity.defn
def record_transition(data: RecordTransitionInput) -> None:
    """Persist a transition (or refused attempt) and the epoch's resulting phase."""
    services.save_transition(data)
    activity.logger.info(
        "Transition recorded: %s -> %s (triggered_by=%s)",
        data.record.from_phase,
        data.record.to_phase,
        data.record.triggered_by,
    )


@activity.defn
def record_vote(data: RecordVoteInput) -> None:
    """Persist a review vote."""
    services.save_vote(data)


@activity.defn
def record_blocker(data: RecordBlockerInput) -> None:
    """Persist a review finding's state."""
    services.save_blocker(data)


@activity.defn
def record_slice(data: RecordSliceInput) -> None:
    """Persist a worker slice's state."""
    services.save_slice(data)


@activity.defn
def record_session(data: RecordSessionInput) -> None:
    """Persist an agent session."""
    services.save_session(data)


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
) -> SliceResult:
    """Run a slice's command in a shell subprocess and report how it ended.

    The command runs with a timeout, heartbeats every `heartbeat_interval` seconds and keeps at
    most AURA_SLICE_OUTPUT_LIMIT bytes of each output stream. `search_path` replaces PATH.
    Refused unless the worker has AURA_ALLOW_SLICE_COMMANDS=1.
    """
    if not conf.allow_slice_commands():
        return SliceResult(slice_id, False, error=DISABLED_MESSAGE)
    limit = conf.slice_output_limit()
    env = dict(os.environ, AURA_EPOCH_ID=epoch_id, AURA_SLICE_ID=slice_id)
    if search_path is not None:
        env["PATH"] = search_path
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
    record_transition,
    record_vote,
    record_blocker,
    record_slice,
    record_session,
    execute_slice_command,
]
