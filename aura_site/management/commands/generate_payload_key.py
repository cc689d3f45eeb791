from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aura_site.payload_keys import new_key_text, parse_payload_keys


class Command(BaseCommand):
    help = (
        "Print a new random payload encryption key as an AURA_PAYLOAD_KEYS entry "
        "(<key id>:<key>). Put it first to encrypt with it; keep older keys after it so "
        "history written under them still decodes (docs/payloads.md)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--key-id",
            default="",
            help="the key's id, stored beside every payload it encrypts (default: k<date>)",
        )

    def handle(self, *args, **options) -> None:
        key_id = options["key_id"] or datetime.now(UTC).strftime("k%Y%m%d")
        held = [key.key_id for key in settings.AURA_PAYLOAD_KEYS]
        if key_id in held:
            raise CommandError(f"AURA_PAYLOAD_KEYS already holds a key with id {key_id!r}.")
        entry = f"{key_id}:{new_key_text()}"
        parse_payload_keys(entry)  # the entry must read back as AURA_PAYLOAD_KEYS reads it
        self.stdout.write(entry)
        if held:
            rotated = ",".join([f"{key_id}:<new key>", *(f"{k}:<key>" for k in held)])
            self.stdout.write(f"To rotate, set AURA_PAYLOAD_KEYS={rotated}", self.style.NOTICE)
        else:
            self.stdout.write(f"To encrypt payloads, set AURA_PAYLOAD_KEYS={key_id}:<key>")
