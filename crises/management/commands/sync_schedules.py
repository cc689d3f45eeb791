"""`manage.py sync_schedules`: repair drift between crisis schedules and Temporal's schedules."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aura_site.errors import Unavailable
from crises.services import schedules

ACTIONS = ("create", "update", "delete")


class Command(BaseCommand):
    help = (
        "Make Aura's Temporal schedules match the crisis schedules: create the missing ones, "
        "update those that differ, delete the Aura-owned ones (id prefix "
        "aura-crisis-schedule-) that have no crisis schedule. Others' schedules are never "
        "touched. Prints one line per change and a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would change; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        try:
            changes = schedules.sync_schedules(dry_run=dry_run, actor="command:sync_schedules")
        except Unavailable as exc:
            raise CommandError(str(exc)) from exc
        for change in changes:
            self.stdout.write(f"would {change}" if dry_run else str(change))
        counts = ", ".join(
            f"{sum(c.action == action for c in changes)} to {action}" for action in ACTIONS
        )
        if dry_run:
            self.stdout.write(f"Dry run: {counts}; nothing changed.")
        else:
            self.stdout.write(f"{len(changes)} change(s) made: {counts}.")
