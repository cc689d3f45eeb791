"""Which workflows and activities each task queue serves, and what a worker does at start.

Domain apps register theirs from `AppConfig.ready()`; `runworker` serves every queue here and
runs every start-up hook first, so the worker never imports the apps it serves.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from logging import Logger
from typing import Any


@dataclass
class QueueRegistration:
    """What one task queue runs; `name` resolves the queue's name when the worker starts."""

    key: str
    name: Callable[[str], str]
    workflows: list[type] = field(default_factory=list)
    activities: list[Callable[..., Any]] = field(default_factory=list)
    on_start: list[Callable[[Logger, str], None]] = field(default_factory=list)


_queues: dict[str, QueueRegistration] = {}
_startup_hooks: list[Callable[[Any], Awaitable[None]]] = []


def register(
    key: str,
    *,
    name: Callable[[str], str],
    workflows: Sequence[type] = (),
    activities: Sequence[Callable[..., Any]] = (),
    on_start: Callable[[Logger, str], None] | None = None,
) -> QueueRegistration:
    """Add workflows and activities to the queue `key` (created on first use).

    Args:
        key: the queue's stable key, e.g. "aura" or "crisis".
        name: returns the queue's name given the worker's `--task-queue` value.
        on_start: logs the queue's own startup lines, given the logger and the queue name.
    """
    registration = _queues.setdefault(key, QueueRegistration(key=key, name=name))
    registration.workflows.extend(w for w in workflows if w not in registration.workflows)
    registration.activities.extend(a for a in activities if a not in registration.activities)
    if on_start is not None and on_start not in registration.on_start:
        registration.on_start.append(on_start)
    return registration


def registered_queues() -> list[QueueRegistration]:
    return list(_queues.values())


def on_worker_start(hook: Callable[[Any], Awaitable[None]]) -> None:
    """Run `hook(config)` (the worker's `WorkerConfig`) before the worker connects."""
    if hook not in _startup_hooks:
        _startup_hooks.append(hook)


def startup_hooks() -> list[Callable[[Any], Awaitable[None]]]:
    return list(_startup_hooks)
