"""`manage.py start_pending`: start every pending workflow start now, once (operators)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aura_site.runs.models import StartIntent
from aura_site.runs.reconciler import BATCH, Report, reconcile_once
from aura_site.temporal import run_sync


class Command(BaseCommand):
    help = (
        "Start the workflows whose start is pending (recorded while Temporal could not take "
        "them), without waiting for their next retry. Every runworker does this by itself; "
        "this is the one-shot form. Exits 1 when any stays pending or failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="list the pending starts; start nothing"
        )
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            self._list(options["json"])
            return
        report = Report()
        while True:
            batch = run_sync(reconcile_once(due_only=False))
            for name in ("started", "pending", "failed"):
                getattr(report, name).extend(getattr(batch, name))
            if batch.tried < BATCH or batch.pending:
                break
        self._report(report, options["json"])
        if report.pending or report.failed:
            raise CommandError(
                f"{len(report.pending)} start(s) still pending, {len(report.failed)} failed."
            )

    def _list(self, as_json: bool) -> None:
        pending = StartIntent.objects.filter(state=StartIntent.State.PENDING)
        rows = [
            {
                "workflow_id": intent.workflow_id,
                "subject": f"{intent.subject_kind} {intent.subject_id}",
                "attempts": intent.attempts,
                "last_error": intent.last_error,
                "created_at": intent.created_at.isoformat(),
            }
            for intent in pending
        ]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(
                f"{row['workflow_id']:<60} {row['subject']:<40} attempts {row['attempts']}"
                f"  {row['last_error']}"
            )
        self.stdout.write(f"{len(rows)} pending start(s)")

    def _report(self, report: Report, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(vars(report), indent=2))
            return
        for name in ("started", "pending", "failed"):
            for workflow_id in getattr(report, name):
                self.stdout.write(f"{name:<8} {workflow_id}")
        self.stdout.write(
            f"{len(report.started)} started, {len(report.pending)} still pending, "
            f"{len(report.failed)} failed"
        )
