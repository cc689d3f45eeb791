"""Serializer fields that apply Aura's text rules and echo wrong input only in part."""

from typing import Any

from rest_framework import serializers

from aura_site.validators import validate_free_text, validate_identifier

ECHO_LIMIT = 40


def excerpt(value: Any) -> str:
    """Return at most ECHO_LIMIT characters of `value`, to name it in an error message."""
    text = str(value)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…"


class LabelField(serializers.CharField):
    """An identifier, target or label: no control or bidirectional-override characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_identifier)


class TextField(serializers.CharField):
    """Free text: tab and line breaks allowed, other control characters not."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_free_text)


class ChoiceField(serializers.ChoiceField):
    """A choice whose error names only the start of a wrong value, however long it is."""

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            self.fail("invalid_choice", input=excerpt(data))
