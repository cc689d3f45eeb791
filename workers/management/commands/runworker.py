import asyncio
import os

from django.core.management.base import BaseCommand, CommandError

from aura_site.temporal import TemporalUnavailable
from workers import conf
from workers.worker import StoppedAtOnce, run_until_signalled


class Command(BaseCommand):
    help = conf.DESCRIPTION

    def add_arguments(self, parser) -> None:
        conf.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        config = conf.resolve(options, os.environ)
        try:
            asyncio.run(run_until_signalled(config))
        except (TemporalUnavailable, ValueError, StoppedAtOnce) as exc:
            raise CommandError(str(exc)) from exc
