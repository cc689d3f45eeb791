"""Filter building blocks shared by the apps' FilterSets."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: converting first
    turns what would be a database error into a plain comparison (or a clear 400).
    """

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a date/time between the years 1 and 9999.") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class FilterSet(django_filters.FilterSet):
    """A FilterSet whose form class is built once per class.

    django-filter builds a form class (a field per filter, through Django's form metaclass) on
    every request; a list page paid for it each time. Only for filters whose fields do not
    depend on the request (no ModelChoiceFilter querysets from it).
    """

    def get_form_class(self) -> type:
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            cls._form_class = form_class
        return form_class
