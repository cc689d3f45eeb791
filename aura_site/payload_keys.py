"""The payload encryption keys of `AURA_PAYLOAD_KEYS`: parsed once, at start-up, from settings.

Kept apart from the codec so settings can read the variable without importing temporalio.
"""

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32  # AES-256-GCM
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class PayloadKey:
    """One AES-256-GCM key and the id stored beside every payload it encrypts."""

    key_id: str
    secret: bytes

    def __repr__(self) -> str:  # never show the key material, e.g. in diffsettings or logs
        return f"PayloadKey({self.key_id!r})"


def parse_payload_keys(raw: str, *, name: str = "AURA_PAYLOAD_KEYS") -> tuple[PayloadKey, ...]:
    """Return the keys of `id:key,id:key,...` (the first encrypts, all decrypt); () when empty.

    Each key is 32 bytes in urlsafe base64 (`manage.py generate_payload_key` makes one).

    Raises:
        ImproperlyConfigured: in one line naming the faulty entry, never its key material.
    """
    keys: list[PayloadKey] = []
    for position, entry in enumerate((e.strip() for e in raw.split(",") if e.strip()), 1):
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon or not _KEY_ID.fullmatch(key_id):
            raise ImproperlyConfigured(
                f"{name}: entry {position} must be <key id>:<base64 key> with a key id of "
                "1-64 letters, digits, '.', '_' or '-'."
            )
        if any(key.key_id == key_id for key in keys):
            raise ImproperlyConfigured(f"{name}: key id {key_id!r} appears twice.")
        secret = _decode_key(encoded.strip())
        if secret is None or len(secret) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"{name}: key {key_id!r} must be {KEY_BYTES} bytes in urlsafe base64 "
                "(manage.py generate_payload_key makes one)."
            )
        keys.append(PayloadKey(key_id, secret))
    return tuple(keys)


def _decode_key(encoded: str) -> bytes | None:
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def new_key_text() -> str:
    """Return a fresh random key in the form `AURA_PAYLOAD_KEYS` takes (without its id)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()
