"""The reconciler: starts the pending intents of the outbox, from every runworker process.

Processes share the work through the database: a claim locks due rows with
`FOR UPDATE SKIP LOCKED` and moves their next attempt past a lease, so two reconcilers never
try the same intent at once, and no Temporal call happens inside a database transaction.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from temporalio.client import Client

from aura_site.runs import outbox
from aura_site.runs.models import StartIntent

logger = logging.getLogger(__name__)

# A claimed intent is left alone by other reconcilers for this long.
CLAIM_LEASE = timedelta(seconds=30)
BATCH = 50
# Starts in flight at once within one pass.
CONCURRENCY = 10


@dataclass
class Report:
    """What one pass did: workflow ids by outcome."""

    started: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        return len(self.started) + len(self.pending) + len(self.failed)

    def add(self, intent: StartIntent, outcome: outbox.StartOutcome) -> None:
        getattr(self, outcome.state).append(intent.workflow_id)


def claim_due(limit: int = BATCH, *, due_only: bool = True) -> list[StartIntent]:
    """Claim up to `limit` pending intents whose next attempt is due (or all, for operators)."""
    now = timezone.now()
    close_old_connections()
    try:
        with transaction.atomic():
            due = StartIntent.objects.filter(state=StartIntent.State.PENDING)
            if due_only:
                due = due.filter(next_attempt_at__lte=now)
            claimed = list(
                due.select_for_update(skip_locked=True).order_by("next_attempt_at")[:limit]
            )
            StartIntent.objects.filter(pk__in=[intent.pk for intent in claimed]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
            )
    finally:
        close_old_connections()
    for intent in claimed:
        intent.attempts += 1
    return claimed


def _settle(intent: StartIntent, outcome: outbox.StartOutcome) -> outbox.StartOutcome:
    close_old_connections()
    try:
        return outbox.settle(intent, outcome)
    finally:
        close_old_connections()


async def reconcile_once(
    client: Client | None = None, *, due_only: bool = True, limit: int = BATCH
) -> Report:
    """Try every claimed intent once and record each outcome."""
    report = Report()
    intents = await sync_to_async(claim_due, thread_sensitive=False)(limit, due_only=due_only)
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(intent: StartIntent) -> None:
        async with semaphore:
            outcome = await outbox.attempt(intent, client)
        settled = await sync_to_async(_settle, thread_sensitive=False)(intent, outcome)
        report.add(intent, settled)

    await asyncio.gather(*(one(intent) for intent in intents))
    return report


async def run_reconciler(client: Client | None, stop: asyncio.Event) -> None:
    """Reconcile every few seconds until `stop` is set; errors are logged, never fatal."""
    interval = settings.AURA_RECONCILE_INTERVAL_SECONDS
    logger.info("Start reconciler running (every %s s).", interval)
    while not stop.is_set():
        try:
            report = await reconcile_once(client)
            while report.tried == BATCH and not stop.is_set():  # a backlog: no pause
                report = await reconcile_once(client)
        except Exception:
            logger.exception("Start reconciler pass failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
