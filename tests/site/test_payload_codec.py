"""AURA_PAYLOAD_KEYS, the AES-GCM payload codec and `manage.py generate_payload_key`."""

import asyncio
import base64
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from aura_site import devstack, temporal
from aura_site.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadDecryptionError,
    data_converter,
    settings_data_converter,
)
from aura_site.payload_keys import new_key_text, parse_payload_keys
from tests.site.test_settings import manage

K1, K2 = new_key_text(), new_key_text()


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


class TestKeys:
    def test_unset_means_off(self) -> None:
        assert parse_payload_keys("") == ()
        assert data_converter(()) is DataConverter.default

    def test_several_keys_in_order_with_or_without_padding(self) -> None:
        keys = parse_payload_keys(f" k2:{K2.rstrip('=')} , k1:{K1}")
        assert [key.key_id for key in keys] == ["k2", "k1"]
        assert keys[0].secret == base64.urlsafe_b64decode(K2)
        assert K1 not in repr(keys) and "k1" in repr(keys)

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (
                K1,
                "entry 1 must be <key id>:<base64 key> with a key id of 1-64 letters, digits, "
                "'.', '_' or '-'.",
            ),
            (f"k1:{K1},bad id:{K2}", "entry 2 must be <key id>:<base64 key>"),
            (f"k1:{K1},k1:{K2}", "key id 'k1' appears twice."),
            ("k1:c2hvcnQ=", "key 'k1' must be 32 bytes in urlsafe base64"),
            ("k1:not*base64", "key 'k1' must be 32 bytes in urlsafe base64"),
        ],
    )
    def test_bad_keys_are_refused_without_showing_them(self, raw: str, message: str) -> None:
        with pytest.raises(ImproperlyConfigured, match="^AURA_PAYLOAD_KEYS: ") as caught:
            parse_payload_keys(raw)
        assert message in str(caught.value)
        assert K2 not in str(caught.value)

    def test_a_bad_key_stops_start_up_in_one_line(self) -> None:
        result = manage("check", AURA_PAYLOAD_KEYS="k1:c2hvcnQ=")
        assert result.returncode == 1
        assert result.stderr == (
            "Configuration error: AURA_PAYLOAD_KEYS: key 'k1' must be 32 bytes in urlsafe "
            "base64 (manage.py generate_payload_key makes one).\n"
        )

    def test_a_bad_codec_origin_stops_start_up_in_one_line(self) -> None:
        result = manage("check", AURA_CODEC_CORS_ORIGINS="https://ui.example.com/path")
        assert result.returncode == 1
        assert result.stderr.startswith("Configuration error: AURA_CODEC_CORS_ORIGINS must list")

    def test_codec_origin_defaults_to_the_temporal_ui(self) -> None:
        code = "from django.conf import settings; print(settings.AURA_CODEC_CORS_ORIGINS)"
        result = manage("shell", "-c", code, TEMPORAL_UI_URL="https://UI.example.com:8233/x")
        assert result.stdout.splitlines()[-1] == "['https://ui.example.com:8233']", result.stderr


class TestCodec:
    def test_round_trip_hides_data_and_metadata(self) -> None:
        codec = EncryptionCodec(parse_payload_keys(f"k1:{K1}"))
        original = plain("target-alpha")
        (sealed,) = asyncio.run(codec.encode([original]))
        assert dict(sealed.metadata) == {"encoding": ENCODING, KEY_ID: b"k1"}
        assert b"target-alpha" not in sealed.data and b"json/plain" not in sealed.data
        assert asyncio.run(codec.decode([sealed])) == [original]
        # A fresh nonce each time: equal inputs do not show as equal ciphertexts.
        assert codec.encrypt(original).data != codec.encrypt(original).data

    def test_plain_payloads_pass_through_decode(self) -> None:
        codec = EncryptionCodec(parse_payload_keys(f"k1:{K1}"))
        assert codec.decrypt(plain("written before encryption")) == plain(
            "written before encryption"
        )

    def test_rotation_first_key_encrypts_every_key_decrypts(self) -> None:
        old = EncryptionCodec(parse_payload_keys(f"old:{K1}"))
        rotated = EncryptionCodec(parse_payload_keys(f"new:{K2},old:{K1}"))
        written_before = old.encrypt(plain("x"))
        assert rotated.decrypt(written_before) == plain("x")
        assert rotated.encrypt(plain("x")).metadata[KEY_ID] == b"new"

    def test_unknown_key_id_fails_by_name(self) -> None:
        sealed = EncryptionCodec(parse_payload_keys(f"old:{K1}")).encrypt(plain("x"))
        new_only = EncryptionCodec(parse_payload_keys(f"new:{K2}"))
        with pytest.raises(PayloadDecryptionError, match="key id 'old', which AURA_PAYLOAD"):
            new_only.decrypt(sealed)

    @pytest.mark.parametrize("tamper", ["data", "key id", "same id other key"])
    def test_altered_payloads_fail_clearly(self, tamper: str) -> None:
        codec = EncryptionCodec(parse_payload_keys(f"k1:{K1},k2:{K2}"))
        sealed = codec.encrypt(plain("x"))
        if tamper == "data":
            sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
        elif tamper == "key id":
            sealed.metadata[KEY_ID] = b"k2"
        else:
            codec = EncryptionCodec(parse_payload_keys(f"k1:{K2}"))
        with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
            codec.decrypt(sealed)

    def test_every_client_gets_the_configured_converter(self, settings) -> None:
        settings.AURA_PAYLOAD_KEYS = parse_payload_keys(f"k1:{K1}")
        converter = settings_data_converter()
        assert isinstance(converter.payload_codec, EncryptionCodec)
        # Failure messages and stack traces are encrypted too.
        assert isinstance(
            converter.failure_converter, DefaultFailureConverterWithEncodedAttributes
        )
        settings.AURA_PAYLOAD_KEYS = ()
        assert settings_data_converter() is DataConverter.default


async def test_connect_uses_the_configured_converter(temporal_env, settings) -> None:
    settings.AURA_PAYLOAD_KEYS = parse_payload_keys(f"k1:{K1}")
    address = temporal_env.client.service_client.config.target_host
    client = await temporal.connect(address, namespace=temporal_env.client.namespace)
    assert isinstance(client.data_converter.payload_codec, EncryptionCodec)
    settings.AURA_PAYLOAD_KEYS = ()
    client = await temporal.connect(address, namespace=temporal_env.client.namespace)
    assert client.data_converter.payload_codec is None


class TestGenerateCommand:
    def test_prints_a_usable_entry(self, settings) -> None:
        settings.AURA_PAYLOAD_KEYS = ()
        out = StringIO()
        call_command("generate_payload_key", "--key-id", "2026-12", stdout=out)
        entry, hint = out.getvalue().splitlines()
        (key,) = parse_payload_keys(entry)
        assert key.key_id == "2026-12" and len(key.secret) == 32
        assert hint == "To encrypt payloads, set AURA_PAYLOAD_KEYS=2026-12:<key>"

    def test_shows_the_rotation_without_printing_held_keys(self, settings) -> None:
        settings.AURA_PAYLOAD_KEYS = parse_payload_keys(f"old:{K1}")
        out = StringIO()
        call_command("generate_payload_key", "--key-id", "new", stdout=out)
        assert "AURA_PAYLOAD_KEYS=new:<new key>,old:<key>" in out.getvalue()
        assert K1 not in out.getvalue()
        with pytest.raises(CommandError, match="already holds a key with id 'old'"):
            call_command("generate_payload_key", "--key-id", "old", stdout=StringIO())


@pytest.mark.parametrize(
    ("ui_port", "codec_endpoint", "expected"),
    [
        (
            8233,
            "http://127.0.0.1:8000/codec",
            ["--ui-codec-endpoint", "http://127.0.0.1:8000/codec"],
        ),
        (8233, "", []),
        (None, "http://127.0.0.1:8000/codec", []),  # headless: no UI to configure
    ],
)
def test_dev_server_ui_gets_the_codec_endpoint(ui_port, codec_endpoint, expected) -> None:
    args = devstack.temporal_dev_server_args(
        port=7233, ui_port=ui_port, db_filename=None, codec_endpoint=codec_endpoint
    )
    flag = args.index("--ui-codec-endpoint") if "--ui-codec-endpoint" in args else None
    assert (args[flag : flag + 2] if flag is not None else []) == expected
