"""System checks for the epochs settings (`manage.py check`)."""

from django.core.checks import Error

from epochs import conf


def check_epoch_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    for code, name, reader in (
        ("aura.E102", "AURA_EPOCH_CONTINUE_AS_NEW_AFTER", conf.continue_as_new_after),
        ("aura.E103", "AURA_SLICE_OUTPUT_LIMIT", conf.slice_output_limit),
    ):
        if reader() < 0:
            errors.append(Error(f"{name} must not be negative, not {reader()}.", id=code))
    return errors
