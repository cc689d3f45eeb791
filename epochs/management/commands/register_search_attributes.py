"""`manage.py register_search_attributes`: add the Aura search attributes to a namespace."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.service import RPCError

from aura_site.temporal import TemporalUnavailable, connect, settings_tls
from epochs.search_attributes import DEFINITIONS

TYPES = {
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


class Command(BaseCommand):
    help = (
        "Register the Aura search attributes (AuraEpochId, AuraPhase, ...) on a Temporal "
        "namespace through the operator service. `make run` and the tests start their dev "
        "servers with them; run this once for any other server."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--server-address", metavar="ADDR", help="default: TEMPORAL_ADDRESS")
        parser.add_argument("--namespace", metavar="NS", help="default: TEMPORAL_NAMESPACE")
        parser.add_argument(
            "--dry-run", action="store_true", help="only report what would be added"
        )

    def handle(self, *args, **options) -> None:
        address = options["server_address"] or settings.TEMPORAL_ADDRESS
        namespace = options["namespace"] or settings.TEMPORAL_NAMESPACE
        try:
            added, present = asyncio.run(
                self.register(address, namespace, dry_run=options["dry_run"])
            )
        except (TemporalUnavailable, RPCError) as exc:
            raise CommandError(f"cannot register search attributes: {exc}") from exc
        for name in present:
            self.stdout.write(f"  {name}: already registered")
        verb = "would add" if options["dry_run"] else "added"
        for name in added:
            self.stdout.write(f"  {name}: {verb} ({DEFINITIONS[name]})")
        self.stdout.write(
            f"{len(added)} search attribute(s) {verb}, {len(present)} already present "
            f"on namespace {namespace!r} at {address}."
        )

    async def register(
        self, address: str, namespace: str, *, dry_run: bool
    ) -> tuple[list[str], list[str]]:
        """Return (added, already present) names; raise CommandError on a type clash."""
        client = await connect(
            address,
            namespace=namespace,
            tls=settings_tls(),
            api_key=settings.TEMPORAL_API_KEY,
            attempts=2,
        )
        service = client.operator_service
        listing = await service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = dict(listing.custom_attributes)
        missing: dict[str, int] = {}
        present: list[str] = []
        for name, kind in DEFINITIONS.items():
            if name not in existing:
                missing[name] = TYPES[kind]
            elif existing[name] != TYPES[kind]:
                actual = IndexedValueType.Name(existing[name]).removeprefix("INDEXED_VALUE_TYPE_")
                raise CommandError(
                    f"search attribute {name} exists as {actual.title()}, not {kind}: "
                    "remove it or use another namespace"
                )
            else:
                present.append(name)
        if missing and not dry_run:
            await service.add_search_attributes(
                AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
            )
        return list(missing), present
