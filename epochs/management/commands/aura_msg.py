"""`manage.py aura_msg`: the origin's `aura-msg` CLI (spec §8) on our epochs.

Groups and subcommands: `query state`, `epoch start`, `signal vote`, `signal complete`,
`phase advance`, `session register`. Signals are fire and forget, as in the origin (a refused
advance lands in the epoch's history); REST and the admin use the validated updates instead.
Exit codes: 0 success, 1 usage/validation error, 2 connection error, 3 workflow error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from aura_site.temporal import TemporalUnavailable, connect, settings_tls
from epochs import services
from epochs.exceptions import EpochExists
from epochs.inputs import (
    PhaseAdvanceSignal,
    QueryStateResult,
    ReviewVoteSignal,
    SessionRegisterSignal,
)
from epochs.protocol import ReviewAxis, SliceCompleteSignal, VoteType, parse_phase_id
from epochs.workflows import EpochWorkflow, SliceWorkflow, slice_workflow_id

FORMATS = ("json", "text")
CONNECT_FIX = "ensure the worker (manage.py runworker) is running and Temporal is reachable"


class AuraMsgError(CommandError):
    """Raised with the origin's four-line report (what / why / impact / fix)."""

    def __init__(
        self, category: str, what: str, *, why: str, impact: str, fix: str, returncode: int
    ) -> None:
        self.report = f"{category}: {what}\n  why: {why}\n  impact: {impact}\n  fix: {fix}"
        super().__init__(self.report, returncode=returncode)


def validation_error(what: str, why: str, fix: str) -> AuraMsgError:
    return AuraMsgError(
        "validation error", what, why=why, impact="nothing was sent", fix=fix, returncode=1
    )


def format_epoch_state(state: QueryStateResult, output_format: str) -> str:
    """Render the `full_state` query as aura-msg prints it."""
    if output_format == "json":
        return json.dumps(
            {
                "current_phase": str(state.current_phase),
                "current_role": str(state.current_role),
                "transition_history": [
                    {
                        "from_phase": str(r.from_phase),
                        "to_phase": str(r.to_phase),
                        "timestamp": r.timestamp.isoformat(),
                        "triggered_by": r.triggered_by,
                        "condition_met": r.condition_met,
                        "success": r.success,
                    }
                    for r in state.transition_history
                ],
                "votes": {str(axis): str(vote) for axis, vote in state.votes.items()},
                "last_error": state.last_error,
                "available_transitions": [
                    {"to_phase": str(t.to_phase), "condition": t.condition}
                    for t in state.available_transitions
                ],
                "active_session_count": state.active_session_count,
            },
            indent=2,
        )
    lines = [f"Phase: {state.current_phase}", f"Role:  {state.current_role}"]
    if state.votes:
        lines.append("Votes:")
        lines += [f"  {axis}: {vote}" for axis, vote in state.votes.items()]
    else:
        lines.append("Votes: (none)")
    if state.last_error:
        lines.append(f"Last Error: {state.last_error}")
    lines.append("Available Transitions:")
    lines += [f"  -> {t.to_phase} ({t.condition})" for t in state.available_transitions]
    lines.append(f"Transitions: {len(state.transition_history)}")
    lines.append(f"Active Sessions: {state.active_session_count}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "aura-msg: query and signal Aura Protocol v3 epochs "
        "(groups: query, epoch, signal, phase, session)."
    )

    def add_arguments(self, parser) -> None:
        groups = parser.add_subparsers(dest="group", metavar="{query,epoch,signal,phase,session}")
        self._parsers: dict[str, Any] = {}

        def group(name: str, help: str):
            sub = groups.add_parser(name, help=help)
            self._parsers[name] = sub
            return sub.add_subparsers(dest="subcommand")

        def command(commands, name: str, help: str):
            sub = commands.add_parser(name, help=help)
            sub.add_argument("--format", choices=FORMATS, default="text")
            sub.add_argument("--epoch-id", required=True)
            return sub

        state = command(group("query", "read an epoch's state"), "state", "print the state")
        state.add_argument("--server-address", metavar="ADDR")
        state.add_argument("--namespace", metavar="NS")

        start = command(group("epoch", "start epochs"), "start", "start an epoch")
        start.add_argument("--description", default="")

        signals = group("signal", "send votes and slice results")
        vote = command(signals, "vote", "vote on a review axis")
        vote.add_argument("--axis", required=True, help="correctness, test_quality or elegance")
        vote.add_argument("--vote", required=True, help="ACCEPT or REVISE")
        vote.add_argument("--reviewer-id", default="")
        complete = command(signals, "complete", "report a slice as finished")
        complete.add_argument("--slice-id", required=True)
        outcome = complete.add_mutually_exclusive_group()
        outcome.add_argument("--output")
        outcome.add_argument("--error")

        advance = command(group("phase", "move epochs"), "advance", "advance to a phase")
        advance.add_argument("--to-phase", required=True)
        advance.add_argument("--triggered-by", default="")
        advance.add_argument("--condition", default="")

        register = command(group("session", "agent sessions"), "register", "register one")
        register.add_argument("--session-id", required=True)
        register.add_argument("--role", required=True)
        register.add_argument("--model-harness", default="")
        register.add_argument("--model", default="")

    def execute(self, *args, **options) -> Any:
        try:
            return super().execute(*args, **options)
        except AuraMsgError as exc:
            # From the shell, the four-line report replaces Django's "CommandError: ..." line.
            if not getattr(self, "_called_from_command_line", False):
                raise
            self.stderr.write(exc.report)
            sys.exit(exc.returncode)

    def handle(self, *args, **options) -> None:
        group, subcommand = options.get("group"), options.get("subcommand")
        if group is None:
            self.stdout.write(self.create_parser("manage.py", "aura_msg").format_help())
            return
        if subcommand is None:
            self.stdout.write(self._parsers[group].format_help())
            return
        getattr(self, f"do_{group}_{subcommand}")(options)

    # --- subcommands ------------------------------------------------------------------------

    def do_query_state(self, options: dict[str, Any]) -> None:
        epoch_id = options["epoch_id"]

        async def query(client: Client) -> QueryStateResult:
            return await client.get_workflow_handle(epoch_id).query(EpochWorkflow.full_state)

        state = self._call(query, epoch_id, "query", options)
        self.stdout.write(format_epoch_state(state, options["format"]))

    def do_epoch_start(self, options: dict[str, Any]) -> None:
        epoch_id = options["epoch_id"]
        try:
            started = services.start_epoch(
                epoch_id=epoch_id, request_description=options["description"], actor="cli"
            )
        except EpochExists as exc:
            raise AuraMsgError(
                "workflow error",
                f"epoch '{epoch_id}' already exists",
                why=str(exc),
                impact="no epoch was started",
                fix="choose another --epoch-id",
                returncode=3,
            ) from exc
        epoch, start = started.epoch, started.start
        if start is not None and start.failed:
            raise AuraMsgError(
                "workflow error",
                f"epoch '{epoch.epoch_id}' could not start",
                why=start.error,
                impact="the epoch is recorded as failed",
                fix="choose another --epoch-id",
                returncode=3,
            )
        waiting = start is not None and start.pending
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {"workflow_id": epoch.epoch_id, "run_id": epoch.run_id, "waiting": waiting}
                )
            )
        elif waiting:
            self.stdout.write(
                f"Recorded epoch: workflow_id={epoch.epoch_id}, waiting to start "
                f"({start.error}); a worker starts it once Temporal at "
                f"{settings.TEMPORAL_ADDRESS} is reachable"
            )
        else:
            self.stdout.write(
                f"Started epoch: workflow_id={epoch.epoch_id}, run_id={epoch.run_id}"
            )

    def do_signal_vote(self, options: dict[str, Any]) -> None:
        axes = [a.value for a in ReviewAxis]
        if options["axis"] not in axes:
            raise validation_error(
                f"invalid axis '{options['axis']}'",
                f"valid axes: {axes}",
                "use --axis correctness",
            )
        try:
            vote = VoteType(options["vote"].upper())
        except ValueError:
            raise validation_error(
                f"invalid vote '{options['vote']}'", "votes are binary", "use ACCEPT or REVISE"
            ) from None
        signal = ReviewVoteSignal(ReviewAxis(options["axis"]), vote, options["reviewer_id"])
        self._signal(options, EpochWorkflow.submit_vote, signal)

    def do_signal_complete(self, options: dict[str, Any]) -> None:
        slice_id = options["slice_id"]
        if options["error"] is not None:
            signal = SliceCompleteSignal(slice_id, success=False, error=options["error"])
        else:
            signal = SliceCompleteSignal(slice_id, success=True, output=options["output"] or "")
        # The slice child's real id (the origin addressed the bare slice id).
        target = slice_workflow_id(options["epoch_id"], slice_id)
        self._signal(options, SliceWorkflow.complete_slice, signal, workflow_id=target)

    def do_phase_advance(self, options: dict[str, Any]) -> None:
        try:
            to_phase = parse_phase_id(options["to_phase"])
        except ValueError as exc:
            raise validation_error(
                f"invalid phase '{options['to_phase']}'",
                str(exc).splitlines()[0],
                "use a valid phase ID (e.g., p1, p2, ... p12)",
            ) from None
        signal = PhaseAdvanceSignal(to_phase, options["triggered_by"], options["condition"])
        self._signal(options, EpochWorkflow.advance_phase, signal)

    def do_session_register(self, options: dict[str, Any]) -> None:
        signal = SessionRegisterSignal(
            options["epoch_id"],
            options["session_id"],
            options["role"],
            options["model_harness"],
            options["model"],
        )
        self._signal(options, EpochWorkflow.register_session, signal)

    # --- helpers ----------------------------------------------------------------------------

    def _signal(self, options: dict[str, Any], signal_fn, arg, *, workflow_id: str = "") -> None:
        target = workflow_id or options["epoch_id"]

        async def send(client: Client) -> None:
            await client.get_workflow_handle(target).signal(signal_fn, arg)

        self._call(send, target, "signal", options)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"success": True}))
        else:
            self.stdout.write("Signal delivered successfully")

    def _call(self, fn, workflow_id: str, verb: str, options: dict[str, Any]) -> Any:
        address = options.get("server_address") or settings.TEMPORAL_ADDRESS
        namespace = options.get("namespace") or settings.TEMPORAL_NAMESPACE

        async def run() -> Any:
            client = await connect(
                address,
                namespace=namespace,
                tls=settings_tls(),
                api_key=settings.TEMPORAL_API_KEY,
                attempts=1,
            )
            return await fn(client)

        try:
            return asyncio.run(run())
        except TemporalUnavailable as exc:
            raise self._connection_error(address, exc) from exc
        except RPCError as exc:
            what = (
                f"workflow '{workflow_id}' not found"
                if exc.status == RPCStatusCode.NOT_FOUND
                else f"{verb} failed for '{workflow_id}'"
            )
            raise AuraMsgError(
                "workflow error",
                what,
                why=str(exc),
                impact=f"the {verb} was not delivered" if verb == "signal" else "no state read",
                fix="check the epoch id (manage.py aura_msg query state --epoch-id ...)",
                returncode=3,
            ) from exc

    @staticmethod
    def _connection_error(address: str, exc: Exception) -> AuraMsgError:
        return AuraMsgError(
            "connection error",
            f"failed to connect to Temporal at {address}",
            why=str(exc),
            impact="nothing was sent",
            fix=CONNECT_FIX,
            returncode=2,
        )
