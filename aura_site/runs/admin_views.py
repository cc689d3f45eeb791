"""Admin pages both run domains share: a confirmed bulk action and the stuck-work list.

Each domain's ModelAdmin supplies what differs (which records, what the action does to one);
the pages look and behave the same for crises and epochs.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from temporalio.service import RPCError

from aura_site.errors import Conflict, DomainError
from aura_site.runs import stuck
from aura_site.temporal import TemporalUnavailable
from aura_site.text import REASON_MAX_LENGTH
from aura_site.validators import validate_free_text


class ReasonForm(forms.Form):
    """The reason an operator gives for an action; required where the action says so."""

    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        validators=[validate_free_text],
    )

    def __init__(self, *args: Any, required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required


@dataclass(frozen=True)
class Row:
    """One selected record: what will happen to it, or what did."""

    record: Model
    url: str
    outcome: str  # "act", "skip" before; "done", "skipped", "failed" after
    note: str


def _change_url(record: Model) -> str:
    opts = record._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])


def _apply(record: Model, apply: Callable[[Model, str], str], reason: str) -> tuple[str, str]:
    try:
        return "done", apply(record, reason)
    except Conflict as exc:  # it ended between the confirmation page and now
        return "skipped", str(exc)
    except DomainError as exc:
        return "failed", str(exc)
    except RPCError as exc:
        return "failed", f"Temporal refused it: {exc.message}"


def confirm_bulk_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    plan: Callable[[Model], tuple[bool, str]],
    apply: Callable[[Model, str], str],
    reason_required: bool = False,
) -> TemplateResponse:
    """Show what `action` will do to each selected record; once confirmed, do it and report.

    Args:
        action: the admin action's name (the confirmation posts back to it).
        plan: (acts, note) per record: whether the action applies to it, and what will happen.
        apply: does it to one record with the reason, returns what happened; a `Conflict`
            means skipped, another `DomainError` or an `RPCError` failed.
    """
    records = list(queryset)
    planned = [(record, *plan(record)) for record in records]
    form = ReasonForm(
        request.POST if "confirm" in request.POST else None, required=reason_required
    )
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        rows = []
        for record, acts, note in planned:
            outcome, result = _apply(record, apply, reason) if acts else ("skipped", note)
            rows.append(Row(record, _change_url(record), outcome, result))
        counts = {key: sum(row.outcome == key for row in rows) for key in ("done", "skipped")}
        failed = len(rows) - counts["done"] - counts["skipped"]
        model_admin.message_user(
            request,
            f"{title}: {counts['done']} done, {counts['skipped']} skipped, {failed} failed.",
            messages.WARNING if failed else messages.SUCCESS,
        )
        template, page_title = "admin/runs/bulk_results.html", f"{title}: results"
    else:
        rows = [
            Row(record, _change_url(record), "act" if acts else "skip", note)
            for record, acts, note in planned
        ]
        template, page_title = "admin/runs/bulk_confirm.html", f"{title}?"
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": page_title,
        "rows": rows,
        "form": form,
        "action": action,
        "reason_required": reason_required,
        "acting": sum(row.outcome == "act" for row in rows),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, template, context)


def stuck_work_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    running: QuerySet,
    *,
    workflow_id_field: str,
    oldest_first: str,
) -> TemplateResponse:
    """List the running records whose workflow is retrying an activity (the oldest `LIMIT`)."""
    total = running.count()
    oldest = list(running.order_by(oldest_first)[: stuck.LIMIT])
    error = ""
    try:
        runs = stuck.stuck_runs(oldest, workflow_id_field=workflow_id_field)
    except (TemporalUnavailable, RPCError) as exc:
        runs, error = [], str(getattr(exc, "message", "") or exc)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Stuck work: {model_admin.opts.verbose_name_plural}",
        "runs": [(run, _change_url(run.record)) for run in runs],
        "checked": len(oldest),
        "total": total,
        "limit": stuck.LIMIT,
        "error": error,
    }
    return TemplateResponse(request, "admin/runs/stuck_work.html", context)
