"""`manage.py record_histories`: record the workflow histories the replay test checks."""

import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from temporalio.service import RPCError

from aura_site.temporal import TemporalUnavailable
from workers import histories, recording


class Command(BaseCommand):
    help = (
        "Run the history scenarios of every app (crises, epochs, audit) on a throwaway stack "
        "(a Temporal dev server, the real worker, a scratch database on the configured "
        "PostgreSQL) and save each closed workflow's history as JSON for the replay test."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--only",
            action="append",
            metavar="GROUP",
            help="record only this group of scenarios (repeatable): "
            + ", ".join(histories.groups()),
        )
        parser.add_argument(
            "--out",
            default=str(settings.BASE_DIR / "tests" / "histories"),
            help="where the histories go, as <out>/<group>/<scenario>.json "
            "(default: tests/histories)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list the scenarios, run nothing"
        )

    def handle(self, *args, **options) -> None:
        unknown = sorted(set(options["only"] or ()) - set(histories.groups()))
        if unknown:
            raise CommandError(
                f"no scenarios in group {unknown[0]!r}; groups: {', '.join(histories.groups())}"
            )
        selected = histories.scenarios(options["only"])
        if options["dry_run"]:
            for scenario in selected:
                self.stdout.write(f"{scenario.group}/{scenario.name}")
            self.stdout.write(f"{len(selected)} scenarios (dry run: nothing recorded)")
            return
        out = Path(options["out"])
        # The worker logs every activity, and the scenarios fail agents on purpose: its log
        # is shown from verbosity 2 on.
        if options["verbosity"] < 2:
            logging.disable(logging.ERROR)
        try:
            written = recording.record(selected, out, report=self.stdout.write)
        except (histories.ScenarioError, TemporalUnavailable, DatabaseError, RPCError) as exc:
            raise CommandError(f"recording failed: {exc} (-v 2 shows the worker's log)") from exc
        finally:
            logging.disable(logging.NOTSET)
        size = sum(path.stat().st_size for path in written)
        self.stdout.write(
            f"Recorded {len(written)} histories from {len(selected)} scenarios "
            f"into {out} ({size / 1024:.0f} KiB)."
        )
