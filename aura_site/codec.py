"""Payload encryption: the data converter every Temporal client of the app uses.

With `AURA_PAYLOAD_KEYS` set, every payload (workflow and activity arguments and results,
signals, queries, updates, memos) and every failure's message and stack trace reach the
Temporal server as AES-256-GCM ciphertext. The key id travels in the payload's metadata, so
history written under an older key still decodes after a new key is put first.
"""

import os
from collections.abc import Sequence
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from aura_site.payload_keys import PayloadKey

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """Raised when an encrypted payload cannot be decrypted with the configured keys."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM with the first key; decryption by the key id each payload names.

    Payloads that are not encrypted pass through unchanged, so history written before
    encryption was turned on still reads.
    """

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise ValueError("EncryptionCodec needs at least one key.")
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}
        self._key_id = keys[0].key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """Return `payload` (metadata and data) encrypted with the first key."""
        nonce = os.urandom(_NONCE_BYTES)
        # The key id is authenticated too: moving ciphertext under another id fails.
        sealed = self._ciphers[self._key_id].encrypt(
            nonce, payload.SerializeToString(), self._key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        """Return the payload `encrypt` sealed; a payload not encrypted comes back as it is.

        Raises:
            PayloadDecryptionError: for an unknown key id or a payload that fails to decrypt.
        """
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which AURA_PAYLOAD_KEYS does not hold"
            )
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))
        except (InvalidTag, ValueError, DecodeError):
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} does not decrypt: it was altered, "
                "or the key under that id changed"
            ) from None


def data_converter(keys: Sequence[PayloadKey]) -> DataConverter:
    """Return the SDK's default converter, encrypting with `keys` when there are any."""
    if not keys:
        return DataConverter.default
    return replace(
        DataConverter.default,
        payload_codec=EncryptionCodec(keys),
        # Failure messages and stack traces can quote inputs: they move into an encrypted
        # payload too (the Temporal UI shows them through the codec endpoint).
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def settings_codec() -> EncryptionCodec | None:
    """Return the codec `AURA_PAYLOAD_KEYS` configures, or None when encryption is off."""
    keys = settings.AURA_PAYLOAD_KEYS
    return EncryptionCodec(keys) if keys else None


def settings_data_converter() -> DataConverter:
    """Return the data converter `AURA_PAYLOAD_KEYS` configures."""
    return data_converter(settings.AURA_PAYLOAD_KEYS)
