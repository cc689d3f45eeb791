"""Epoch settings, read at call time so tests can override them (see aura_site/settings.py)."""

from django.conf import settings


def allow_slice_commands() -> bool:
    """Return whether slices may run shell commands on the worker (`AURA_ALLOW_SLICE_COMMANDS`)."""
    return settings.AURA_ALLOW_SLICE_COMMANDS


def continue_as_new_after() -> int:
    """Return the history length at which an epoch continues as new (0: when Temporal says)."""
    return settings.AURA_EPOCH_CONTINUE_AS_NEW_AFTER


def distinct_voters() -> bool:
    """Return whether each review axis needs its own user (`AURA_REVIEW_DISTINCT_VOTERS`)."""
    return settings.AURA_REVIEW_DISTINCT_VOTERS


def slice_output_limit() -> int:
    """Return how many bytes of a slice command's stdout/stderr are kept."""
    return settings.AURA_SLICE_OUTPUT_LIMIT


def task_queue() -> str:
    """Return the task queue of the epoch workflows (`TEMPORAL_TASK_QUEUE`)."""
    return settings.TEMPORAL_TASK_QUEUE
