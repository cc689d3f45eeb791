"""The API's parsers: bounded nesting and size, and only text UTF-8 (and PostgreSQL) can hold."""

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser

MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class BoundedJSONParser(JSONParser):
    """JSON at most MAX_DEPTH arrays/objects deep, without unpaired surrogates.

    The standard decoder recurses once per level and fails with a RecursionError past about
    1,000 levels; and it decodes `"\\ud800"` into a string that neither the database nor the
    response renderer can encode. Both become a 400 here, before any view sees the data.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        check_document(data)
        return data


def _too_deep() -> str:
    return f"JSON parse error - nested deeper than {MAX_DEPTH} levels."


def check_document(data: Any) -> None:
    """Raise ParseError if `data` nests deeper than MAX_DEPTH or holds an unpaired surrogate.

    Walks with an explicit stack, so the check itself cannot exhaust the call stack.
    """
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ParseError("JSON parse error - a string holds an unpaired surrogate.")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise ParseError(_too_deep())
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)


class BoundedMultiPartParser(MultiPartParser):
    """Multipart forms (the browsable API's HTML form) no larger than any other body.

    Django caps a multipart form's fields but streams its files to disk whatever their size;
    no endpoint takes files, so the whole body is held to the upload limit.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context=None) -> Any:
        meta = (parser_context or {})["request"].META
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and int(meta.get("CONTENT_LENGTH") or 0) > limit:
            raise RequestDataTooBig("multipart body over the upload limit")
        return super().parse(stream, media_type, parser_context)
