"""Epoch settings: a Django setting of the same name wins, then the environment, then a default.

Read at call time (never at import), so tests can override them with pytest-django's
`settings` fixture or `monkeypatch.setenv`. An empty environment variable counts as unset.
"""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _raw(name: str) -> object:
    value = getattr(settings, name, None)
    return os.environ.get(name, "") if value is None else value


def _bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def _int(name: str, default: int) -> int:
    raw = _raw(name)
    if raw in ("", None):
        return default
    try:
        return int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None


def allow_slice_commands() -> bool:
    """Return whether slices may run shell commands on the worker (`AURA_ALLOW_SLICE_COMMANDS`).

    Off by default: a slice command runs arbitrary code on the worker host. Even when on, only
    users with `epochs.run_slice_command` may submit such slices.
    """
    return _bool("AURA_ALLOW_SLICE_COMMANDS", False)


def continue_as_new_after() -> int:
    """Return the history length at which an epoch continues as new
    (`AURA_EPOCH_CONTINUE_AS_NEW_AFTER`, default 2000 events; 0 = when Temporal suggests)."""
    return _int("AURA_EPOCH_CONTINUE_AS_NEW_AFTER", 2000)


def slice_output_limit() -> int:
    """Return how many bytes of a slice command's stdout/stderr are kept
    (`AURA_SLICE_OUTPUT_LIMIT`, default 64 KiB each)."""
    return _int("AURA_SLICE_OUTPUT_LIMIT", 64 * 1024)


def task_queue() -> str:
    """Return the task queue of the epoch workflows (`TEMPORAL_TASK_QUEUE`)."""
    return settings.TEMPORAL_TASK_QUEUE
