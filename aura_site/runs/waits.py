"""The per-user cap on open long-polls (AURA_MAX_OPEN_WAITS), counted in PostgreSQL.

Each wait holds a row while it waits, so every process of every server counts the same waits;
a transaction-scoped advisory lock per user makes "count, then take" atomic. A row whose
process died (killed mid-wait) frees its slot at `expires_at`: the wait's own timeout plus
GRACE.
"""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from aura_site.errors import TooManyOpenWaits
from aura_site.runs.models import OpenWait

GRACE = timedelta(seconds=30)
_LOCK_SPACE = "aura.open_waits"


def open_wait(user: AbstractBaseUser, *, workflow_id: str, timeout: float) -> OpenWait:
    """Take one of the user's wait slots for up to `timeout` seconds.

    Raises:
        TooManyOpenWaits: when all AURA_MAX_OPEN_WAITS slots are taken; `Retry-After` is when
            the first of them ends at the latest.
    """
    limit = settings.AURA_MAX_OPEN_WAITS
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                [_LOCK_SPACE, str(user.pk)],
            )
        now = timezone.now()
        mine = OpenWait.objects.filter(user=user)
        deadlines = list(mine.order_by("expires_at").values_list("expires_at", flat=True))
        expired = sum(1 for deadline in deadlines if deadline <= now)
        if expired:  # left by a process that died mid-wait: their slots are free again
            mine.filter(expires_at__lte=now).delete()
            deadlines = deadlines[expired:]
        if len(deadlines) >= limit:
            first_end = (deadlines[0] - GRACE - now).total_seconds()
            raise TooManyOpenWaits(
                f"You have {len(deadlines)} waits open, the most allowed at once; "
                "let one end first.",
                retry_after=max(1, math.ceil(first_end)),
                limit=limit,
            )
        return OpenWait.objects.create(
            user=user, workflow_id=workflow_id, expires_at=now + timedelta(seconds=timeout) + GRACE
        )


def close_wait(wait: OpenWait) -> None:
    """Give the wait's slot back."""
    OpenWait.objects.filter(pk=wait.pk).delete()


def _open_and_let_go(user: AbstractBaseUser, *, workflow_id: str, timeout: float) -> OpenWait:
    wait = open_wait(user, workflow_id=workflow_id, timeout=timeout)
    # The request keeps its thread (and so its connection) while it waits: close the
    # connection rather than hold one idle per open wait (PostgreSQL allows 100 by default).
    if not connection.in_atomic_block:
        connection.close()
    return wait


@asynccontextmanager
async def holding_slot(
    user: AbstractBaseUser, *, workflow_id: str, timeout: float
) -> AsyncIterator[OpenWait]:
    """Hold one of the user's wait slots for the block, which may be cancelled (a client gone).

    Raises:
        TooManyOpenWaits: as open_wait.
    """
    wait = await sync_to_async(_open_and_let_go)(user, workflow_id=workflow_id, timeout=timeout)
    try:
        yield wait
    finally:
        await sync_to_async(close_wait)(wait)
