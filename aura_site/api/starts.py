"""How every start endpoint answers: 201 started, 202 waiting to start, 200 a repeat."""

import json
from functools import cache
from types import SimpleNamespace
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request

from aura_site.api.rows import InstanceRenderer
from aura_site.errors import StartRefused
from aura_site.runs import outbox
from aura_site.runs.idempotency import HEADER, clean_key
from aura_site.runs.models import StartIntent
from aura_site.runs.outbox import StartOutcome

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Makes the start safe to retry. Scoped to the authenticated user: a repeat with the "
        "same key and body returns the same record (200) and starts nothing; the same key "
        "with another body is refused (422)."
    ),
)


def idempotency_key(request: Request) -> str | None:
    return clean_key(request.headers.get(HEADER))


def start_status(*, created: bool, start: StartOutcome | None, label: str) -> int:
    """Return the HTTP status of a start's answer.

    Raises:
        StartRefused: Temporal refused the workflow for good (the record says so too).
    """
    if not created:
        return status.HTTP_200_OK
    if start is not None and start.failed:
        raise StartRefused(f"{label} was recorded but could not start: {start.error}")
    if start is None or start.pending:
        return status.HTTP_202_ACCEPTED
    return status.HTTP_201_CREATED


class StartSerializer(serializers.Serializer):
    """Where a record's workflow start stands; `pending` means waiting to start."""

    state = serializers.ChoiceField(choices=StartIntent.State.choices)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
    give_up_at = serializers.DateTimeField()


@cache
def _start_renderer() -> InstanceRenderer:
    """`StartSerializer` with its fields built once: every start answer shows one."""
    return InstanceRenderer(StartSerializer, {})


@extend_schema_field(StartSerializer(allow_null=True))
class StartField(serializers.Field):
    """A record's start intent, from `outbox.with_start()` or else looked up (null: none)."""

    def __init__(self, workflow_id_field: str = "workflow_id", **kwargs: Any) -> None:
        self.workflow_id_field = workflow_id_field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record: Any) -> dict[str, Any] | None:
        if hasattr(record, "start_json"):
            return start_data(record.start_json)
        intent = outbox.intent_for(getattr(record, self.workflow_id_field))
        return _start_renderer().render(intent) if intent is not None else None


def start_data(start: dict[str, Any] | None) -> dict[str, Any] | None:
    """Render a `with_start` annotation (None: no intent) as `StartSerializer` does."""
    if start is None:
        return None
    # The annotation holds PostgreSQL's JSON text: read its times back, so that it renders as
    # an intent read by the ORM does.
    times = {name: parse_datetime(start[name]) for name in ("next_attempt_at", "give_up_at")}
    return _start_renderer().render(SimpleNamespace(**{**start, **times}))


def start_data_from_text(start_json: str | None) -> dict[str, Any] | None:
    """`start_data` of the annotation as a plain cursor returns it: JSON text (or NULL)."""
    return start_data(None if start_json is None else json.loads(start_json))
