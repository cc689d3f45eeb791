"""`manage.py aura_msg`: the `aura-msg` CLI on Aura's epochs.

Groups and subcommands: `query state`, `epoch start`, `signal vote`, `signal complete`,
`phase advance`, `session register`, and Aura's `constraints list` / `constraints check`
(offline: they read and apply the constraint catalogue, no Temporal needed). Signals are fire
and forget (a refused advance lands in the epoch's history); REST and the admin use the
validated updates instead.
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
from epochs.api.constraint_serializers import CatalogueSerializer, ViolationSerializer
from epochs.api.constraint_views import catalogue
from epochs.cli import (
    EXIT_CODES,
    CmdGroup,
    ErrorCategory,
    OutputFormat,
    format_epoch_state,
    format_error,
    format_signal_result,
    format_start_result,
)
from epochs.constraints import check_facts
from epochs.exceptions import EpochExists
from epochs.inputs import (
    PhaseAdvanceSignal,
    QueryStateResult,
    ReviewVoteSignal,
    SessionRegisterSignal,
)
from epochs.protocol import ReviewAxis, SliceCompleteSignal, VoteType, parse_phase_id
from epochs.structural_constraints import STRUCTURAL_ARGUMENTS
from epochs.workflows import EpochWorkflow, SliceWorkflow, slice_workflow_id

FORMATS = tuple(f.value for f in OutputFormat)
# Aura's group beside the aura-msg ones: the constraint catalogue, read and checked offline.
CONSTRAINTS_GROUP = "constraints"
GROUPS = [*(g.value for g in CmdGroup), CONSTRAINTS_GROUP]
NOTHING_CHECKED = "nothing was checked"
CONNECT_FIX = "ensure the worker (manage.py runworker) is running and Temporal is reachable"


class AuraMsgError(CommandError):
    """Raised with aura-msg's four-line report (what / why / impact / fix)."""

    def __init__(
        self, category: ErrorCategory, what: str, *, why: str, impact: str, fix: str
    ) -> None:
        self.report = format_error(category, what, why, impact, fix)
        super().__init__(self.report, returncode=EXIT_CODES[category])


def validation_error(
    what: str, why: str, fix: str, *, impact: str = "nothing was sent"
) -> AuraMsgError:
    return AuraMsgError(ErrorCategory.Validation, what, why=why, impact=impact, fix=fix)


def parse_fact(name: str, value: Any) -> Any:
    """Convert a `constraints check` flag value to the type its check takes.

    Raises:
        AuraMsgError: a yes/no or number flag got something else (exit 1).
    """
    kind = STRUCTURAL_ARGUMENTS.get(name)
    flag = "--" + name.replace("_", "-")
    if kind is bool:
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "false", "no", "0"):
            return lowered in ("true", "yes", "1")
        raise validation_error(
            f"invalid {flag} '{value}'",
            "it is a yes/no fact",
            f"use {flag} true or false",
            impact=NOTHING_CHECKED,
        )
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise validation_error(
                f"invalid {flag} '{value}'",
                "it is a count",
                f"use a whole number, e.g. {flag} 2",
                impact=NOTHING_CHECKED,
            ) from None
    return value


class Command(BaseCommand):
    help = (
        "aura-msg: query and signal Aura Protocol v3 epochs "
        "(groups: query, epoch, signal, phase, session, constraints)."
    )

    def add_arguments(self, parser) -> None:
        groups = parser.add_subparsers(dest="group", metavar="{" + ",".join(GROUPS) + "}")
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

        constraints = group(CONSTRAINTS_GROUP, "the protocol's constraint catalogue")
        listing = constraints.add_parser("list", help="print the constraints and handoffs")
        listing.add_argument("--format", choices=FORMATS, default="text")
        check = constraints.add_parser("check", help="check titles and structural facts")
        check.add_argument("--format", choices=FORMATS, default="text")
        check.add_argument(
            "--title", action="append", dest="titles", help="a task title (repeatable)"
        )
        for name, kind in STRUCTURAL_ARGUMENTS.items():
            flag = "--" + name.replace("_", "-")
            if kind is list:
                check.add_argument(flag, dest=name, nargs="*", metavar="ITEM")
            else:
                metavar = {bool: "true|false", int: "N"}.get(kind, "TEXT")
                check.add_argument(flag, dest=name, metavar=metavar)

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
                ErrorCategory.Workflow,
                f"epoch '{epoch_id}' already exists",
                why=str(exc),
                impact="no epoch was started",
                fix="choose another --epoch-id",
            ) from exc
        epoch, start = started.record, started.start
        if start is not None and start.failed:
            raise AuraMsgError(
                ErrorCategory.Workflow,
                f"epoch '{epoch.epoch_id}' could not start",
                why=start.error,
                impact="the epoch is recorded as failed",
                fix="choose another --epoch-id",
            )
        if start is not None and start.pending:
            self.stderr.write(
                f"Waiting to start: Temporal at {settings.TEMPORAL_ADDRESS} cannot take it now "
                f"({start.error}); a worker starts it as soon as Temporal is reachable."
            )
        run_id = start.run_id if start is not None else epoch.run_id
        self.stdout.write(format_start_result(epoch.epoch_id, run_id, options["format"]))

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
        # The slice child's real id, not the bare slice id.
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

    def do_constraints_list(self, options: dict[str, Any]) -> None:
        document = CatalogueSerializer(catalogue()).data
        if options["format"] == OutputFormat.Json:
            self.stdout.write(json.dumps(document, indent=2))
            return
        for spec in document["constraints"]:
            self.stdout.write(spec["id"])
            for label in ("given", "when", "then"):
                self.stdout.write(f"  {label}: {spec[label]}")
            self.stdout.write(f"  should not: {spec['should_not']}")
            if spec["command"]:
                self.stdout.write(f"  command: {spec['command']}")
        for handoff in document["handoffs"]:
            self.stdout.write(
                f"{handoff['id']}: {handoff['source_role']} -> {handoff['target_role']} "
                f"at {handoff['at_phase']} ({handoff['content_level']}): "
                + ", ".join(handoff["required_fields"])
            )
        constraints, handoffs = len(document["constraints"]), len(document["handoffs"])
        self.stdout.write(f"{constraints} constraints, {handoffs} handoffs.")

    def do_constraints_check(self, options: dict[str, Any]) -> None:
        facts = {
            name: parse_fact(name, options[name])
            for name in ["titles", *STRUCTURAL_ARGUMENTS]
            if options.get(name) is not None
        }
        if not facts:
            raise validation_error(
                "nothing to check",
                "no --title and no structural argument was given",
                "pass --title TITLE or the arguments of a check, e.g. --vote APPROVE",
                impact=NOTHING_CHECKED,
            )
        violations = check_facts(**facts)
        if options["format"] == OutputFormat.Json:
            body = {
                "violations": ViolationSerializer(violations, many=True).data,
                "count": len(violations),
            }
            self.stdout.write(json.dumps(body, indent=2))
            return
        for violation in violations:
            self.stdout.write(f"[{violation.constraint_id}] {violation.message}")
        self.stdout.write(f"{len(violations)} violation(s).")

    # --- helpers ----------------------------------------------------------------------------

    def _signal(self, options: dict[str, Any], signal_fn, arg, *, workflow_id: str = "") -> None:
        target = workflow_id or options["epoch_id"]

        async def send(client: Client) -> None:
            await client.get_workflow_handle(target).signal(signal_fn, arg)

        self._call(send, target, "signal", options)
        self.stdout.write(format_signal_result(True, options["format"]))

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
                ErrorCategory.Workflow,
                what,
                why=str(exc),
                impact=f"the {verb} was not delivered" if verb == "signal" else "no state read",
                fix="check the epoch id (manage.py aura_msg query state --epoch-id ...)",
            ) from exc

    @staticmethod
    def _connection_error(address: str, exc: Exception) -> AuraMsgError:
        return AuraMsgError(
            ErrorCategory.Connection,
            f"failed to connect to Temporal at {address}",
            why=str(exc),
            impact="nothing was sent",
            fix=CONNECT_FIX,
        )
