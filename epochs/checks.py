"""System checks for the epochs settings (`manage.py check`)."""

from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured

from epochs import conf


def check_epoch_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    for code, reader in (
        ("aura.E101", conf.allow_slice_commands),
        ("aura.E102", conf.continue_as_new_after),
        ("aura.E103", conf.slice_output_limit),
    ):
        try:
            value = reader()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id=code))
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            errors.append(Error(f"{reader.__name__} must not be negative, not {value}.", id=code))
    return errors
