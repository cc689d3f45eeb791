"""Django validators for the text rules of `aura_site/text.py`, for forms and serializers."""

from django.core.exceptions import ValidationError

from aura_site.text import free_text_error, identifier_error


def validate_identifier(value: str) -> None:
    """Refuse control and bidirectional-override characters in an identifier, target or label."""
    message = identifier_error(value)
    if message:
        raise ValidationError(message, code="control_characters")


def validate_free_text(value: str) -> None:
    """Refuse control characters other than tab and line breaks in free text."""
    message = free_text_error(value)
    if message:
        raise ValidationError(message, code="control_characters")
