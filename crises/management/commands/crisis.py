"""`manage.py crisis`: trigger, watch, list and cancel crisis responses from a shell."""

import getpass
import json
import time
from argparse import RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aura_site.errors import DomainError
from aura_site.runs import outbox
from crises import services
from crises.api.serializers import CrisisSerializer
from crises.exceptions import InvalidCrisisRequest
from crises.models import Crisis, CrisisStatus

EPILOG = """\
examples:
  manage.py crisis trigger target-alpha recon secure extract cleanup
  manage.py crisis status crisis-target-alpha-1768532370
  manage.py crisis wait crisis-workflow-crisis-target-alpha-1768532370
  manage.py crisis list --status running
  manage.py crisis cancel crisis-target-alpha-1768532370

Ids: the crisis id or the workflow id. `wait` exits 0 when the crisis completed, 1 otherwise.
"""


def _progress(crisis: Crisis) -> str:
    counts = services.summary(crisis)
    return (
        f"{counts['completed_phases']}/{counts['total_phases']} phases completed, "
        f"{counts['failed_phases']} failed"
    )


class Command(BaseCommand):
    help = "Trigger, watch, list and cancel crisis responses (the Liara CLI)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = EPILOG
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.formatter_class = RawDescriptionHelpFormatter
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

        trigger = verbs.add_parser(
            "trigger", help="start a crisis: one mission phase per action, in order"
        )
        trigger.add_argument("target", help="the target member, e.g. target-alpha")
        trigger.add_argument("actions", nargs="+", metavar="action", help="e.g. recon secure")
        trigger.add_argument("--initiated-by", default="cli-user", help="default: cli-user")
        trigger.add_argument("--idempotency-key", help="a repeat with this key starts nothing")

        status = verbs.add_parser("status", help="show a crisis and its phases (does not block)")
        status.add_argument("crisis", help="crisis id or workflow id")

        wait = verbs.add_parser("wait", help="follow a crisis until it ends")
        wait.add_argument("crisis", help="crisis id or workflow id")
        wait.add_argument("--timeout", type=float, help="give up after N seconds (exit 1)")
        wait.add_argument(
            "--interval",
            type=float,
            default=0.25,
            help="seconds between progress checks (default 0.25)",
        )

        listing = verbs.add_parser("list", help="list crises, newest first")
        listing.add_argument("--status", choices=CrisisStatus.values)
        listing.add_argument("--target")
        listing.add_argument("--limit", type=int, default=20)

        cancel = verbs.add_parser("cancel", help="cancel a running crisis")
        cancel.add_argument("crisis", help="crisis id or workflow id")
        cancel.add_argument("--actor", help="who cancels (default: cli:<login name>)")

        for sub in (trigger, status, wait, listing, cancel):
            sub.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options) -> None:
        self.as_json = options["json"]
        try:
            getattr(self, f"do_{options['verb']}")(options)
        except InvalidCrisisRequest as exc:
            raise CommandError(f"Invalid crisis request: {exc}") from exc
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    # --- output --------------------------------------------------------------------------

    def emit_json(self, data) -> None:
        self.stdout.write(json.dumps(data, indent=2))

    def record(self, crisis: Crisis) -> dict:
        crisis = Crisis.objects.prefetch_related("phases").get(pk=crisis.pk)
        return CrisisSerializer(crisis).data

    def show(self, crisis: Crisis) -> None:
        if self.as_json:
            self.emit_json(self.record(crisis))
            return
        out = self.stdout.write
        out(f"Crisis ID:   {crisis.crisis_id}")
        out(f"Workflow ID: {crisis.workflow_id}")
        out(f"Target:      {crisis.target}")
        out(f"Status:      {crisis.status} ({_progress(crisis)})")
        intent = outbox.intent_for(crisis.workflow_id)
        if intent is not None and intent.is_pending:
            out(f"Start:       waiting to start (attempt {intent.attempts}: {intent.last_error})")
        if crisis.error:
            out(f"Error:       {crisis.error}")
        if crisis.cancel_requested_by:
            out(f"Cancelled by: {crisis.cancel_requested_by}")
        for phase in crisis.phases.all():
            line = (
                f"  {phase.phase_id:<12} {phase.status:<10} attempts {phase.attempts}  "
                f"{phase.agent_id} → {phase.action}"
            )
            out(line + (f"  ({phase.error})" if phase.error else ""))
        out(f"View in UI:  {services.temporal_ui_url(crisis)}")

    # --- verbs ---------------------------------------------------------------------------

    def do_trigger(self, options) -> None:
        target = options["target"]
        outcome = services.trigger_crisis(
            target=target,
            missions=services.cli_missions(target, options["actions"]),
            initiated_by=options["initiated_by"],
            actor=f"cli:{getpass.getuser()}",
            idempotency_key=options["idempotency_key"],
        )
        crisis = outcome.record
        if outcome.start is not None and outcome.start.failed:
            raise CommandError(
                f"Crisis {crisis.crisis_id} could not start: {outcome.start.error} "
                "(the crisis is recorded as failed)"
            )
        if self.as_json:
            self.emit_json(self.record(crisis))
            return
        verb = "triggered" if outcome.created else "already triggered with this key"
        self.stdout.write(
            f"Crisis {crisis.crisis_id} {verb}: {len(options['actions'])} mission phases"
        )
        self.stdout.write(f"Workflow ID: {crisis.workflow_id}")
        if outcome.start is not None and outcome.start.pending:
            self.stdout.write(
                f"Waiting to start: Temporal cannot take it now ({outcome.start.error}); "
                "a worker starts it as soon as Temporal is reachable."
            )
        self.stdout.write(f"View in UI: {services.temporal_ui_url(crisis)}")

    def do_status(self, options) -> None:
        self.show(services.refresh_crisis(services.get_crisis(options["crisis"])))

    def do_wait(self, options) -> None:
        crisis = services.get_crisis(options["crisis"])
        deadline = time.monotonic() + options["timeout"] if options["timeout"] else None
        seen: dict[str, tuple[str, int]] = {}
        last_check = time.monotonic()
        if not self.as_json:
            self.stdout.write(f"Waiting for crisis {crisis.crisis_id} ({crisis.workflow_id})")
        while True:
            crisis.refresh_from_db()
            for phase in crisis.phases.all():
                state = (phase.status, phase.attempts)
                if seen.get(phase.phase_id, ("pending", 0)) != state and not self.as_json:
                    attempt = f" (attempt {phase.attempts})" if phase.status == "running" else ""
                    error = f": {phase.error}" if phase.status == "failed" else ""
                    self.stdout.write(f"  {phase.phase_id} {phase.status}{attempt}{error}")
                seen[phase.phase_id] = state
            if not crisis.is_active:
                break
            if time.monotonic() - last_check > 5:  # notice a workflow that died unrecorded
                crisis, last_check = services.refresh_crisis(crisis), time.monotonic()
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(
                    f"Crisis {crisis.crisis_id} still {crisis.status} after "
                    f"{options['timeout']:g}s ({_progress(crisis)})."
                )
            time.sleep(options["interval"])
        if self.as_json:
            self.emit_json(self.record(crisis))
        else:
            self.stdout.write("=" * 60)
            self.stdout.write(f"CRISIS RESPONSE {crisis.status.upper().replace('_', ' ')}")
            self.stdout.write("=" * 60)
            self.show(crisis)
        if crisis.status != CrisisStatus.COMPLETED:
            raise CommandError(f"Crisis {crisis.crisis_id} ended {crisis.status}.", returncode=1)

    def do_list(self, options) -> None:
        crises = Crisis.objects.prefetch_related("phases")
        if options["status"]:
            crises = crises.filter(status=options["status"])
        if options["target"]:
            crises = crises.filter(target=options["target"])
        crises = list(crises[: max(options["limit"], 0)])
        if self.as_json:
            self.emit_json([CrisisSerializer(crisis).data for crisis in crises])
            return
        for crisis in crises:
            counts = services.summary(crisis)
            self.stdout.write(
                f"{crisis.crisis_id:<44} {crisis.status:<16} "
                f"{counts['completed_phases']}/{counts['total_phases']:<4} "
                f"{crisis.started_at:%Y-%m-%d %H:%M:%S}Z  {crisis.target}"
            )
        self.stdout.write(f"{len(crises)} crises")

    def do_cancel(self, options) -> None:
        crisis = services.get_crisis(options["crisis"])
        actor = options["actor"] or f"cli:{getpass.getuser()}"
        crisis = services.cancel_crisis(crisis, actor=actor)
        if self.as_json:
            self.emit_json(self.record(crisis))
        else:
            self.stdout.write(f"Cancel requested for crisis {crisis.crisis_id} (by {actor}).")
