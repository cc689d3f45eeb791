"""Idempotent creation with one meaning everywhere.

An `Idempotency-Key` is scoped to the user who sent it. The first request with a key creates the
record and stores a fingerprint of the request; a repeat with the same fingerprint gets the same
record back (and starts nothing), a repeat with another body is refused. A unique constraint on
(user, key) decides races: there is no check-then-insert.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from aura_site.errors import DomainError, IdempotencyKeyReused
from aura_site.text import identifier_error

M = TypeVar("M", bound=models.Model)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def fingerprint(*parts: Any) -> str:
    """Return a stable digest of a request's meaningful parts."""
    canonical = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def clean_key(raw: str | None) -> str | None:
    """Return the header's key, or None when it is absent or blank."""
    key = (raw or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(
            f"{HEADER} must have at most {MAX_KEY_LENGTH} characters.",
            errors={HEADER: [f"At most {MAX_KEY_LENGTH} characters."]},
        )
    if error := identifier_error(key):
        raise DomainError(f"{HEADER}: {error}", errors={HEADER: [error]})
    return key or None


def _replay(model: type[M], user_field: str, user: Any, key: str, digest: str) -> M | None:
    existing = model._default_manager.filter(**{user_field: user, "idempotency_key": key}).first()
    if existing is not None and existing.request_fingerprint != digest:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was used for a different request ({existing})."
        )
    return existing


def create_once(
    model: type[M],
    *,
    user_field: str,
    user: Any,
    key: str | None,
    digest: str,
    create: Callable[[], M],
) -> tuple[M, bool]:
    """Return (record, created): the record `create()` makes, or the one a repeat refers to.

    With a key, `create` runs in a savepoint (a racing repeat is then looked up); it must
    store `idempotency_key` and `request_fingerprint`.

    Raises:
        IdempotencyKeyReused: the key came with a different request before.
    """
    if key:
        existing = _replay(model, user_field, user, key, digest)
        if existing is not None:
            return existing, False
    if not key:  # nothing to look up after a clash: no savepoint to roll back to
        with transaction.atomic(savepoint=False):
            return create(), True
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = _replay(model, user_field, user, key, digest)
        if existing is None:
            raise
        return existing, False
