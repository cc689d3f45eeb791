"""Epoch admin: a list with the 12-step progress bar, a start page, a detail page that shows
the whole epoch and drives it (advance, vote, findings) through the services, and a read-only
reference page of the protocol's constraints."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from temporalio.service import RPCError

from audit import subjects
from audit.models import AuditEvent
from audit.services import user_actor
from aura_site.errors import DomainError
from aura_site.runs import outbox
from aura_site.runs.admin_views import ReasonForm, confirm_bulk_action, stuck_work_page
from aura_site.runs.presentation import start_message, waiting_badge
from aura_site.validators import validate_free_text
from epochs import services
from epochs.api.serializers import ID_REGEX
from epochs.catalogue import HANDOFF_SPECS
from epochs.constraint_specs import CONSTRAINT_SPECS
from epochs.exceptions import EpochExists, MoveRefused
from epochs.models import Epoch
from epochs.protocol import PHASE_SPECS, PhaseId, ReviewAxis, SeverityLevel, VoteType

PHASES = list(PHASE_SPECS)


def progress_bar(epoch: Epoch) -> str:
    """Return the 12 phase steps, done / current / to do, as HTML."""
    number = epoch.phase_number
    steps = []
    for phase in PHASES:
        spec = PHASE_SPECS[phase]
        state = "done" if spec.number < number else "current" if spec.number == number else "todo"
        steps.append((state, f"{phase.value} {spec.name}", spec.number))
    return format_html(
        '<span class="epoch-progress" title="{}">{}</span>',
        epoch.current_phase,
        format_html_join("", '<span class="step {}" title="{}">{}</span>', steps),
    )


class StartEpochForm(forms.Form):
    epoch_id = forms.RegexField(
        regex=ID_REGEX, required=False, help_text="Leave empty to generate one."
    )
    request_description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), validators=[validate_free_text]
    )


class VoteForm(forms.Form):
    axis = forms.ChoiceField(choices=[(a.value, a.value) for a in ReviewAxis])
    vote = forms.ChoiceField(choices=[(v.value, v.value) for v in VoteType])


class BlockerForm(forms.Form):
    blocker_id = forms.RegexField(regex=ID_REGEX)
    severity = forms.ChoiceField(choices=[(s.value, s.value) for s in SeverityLevel])
    description = forms.CharField(required=False, validators=[validate_free_text])
    resolved = forms.BooleanField(required=False, label="Resolve")


class PhaseFilter(admin.SimpleListFilter):
    title = "phase"
    parameter_name = "phase"

    def lookups(self, request, model_admin):
        return [(p.value, f"{p.value} {PHASE_SPECS[p].name}") for p in PHASES] + [
            (PhaseId.Complete.value, "Complete")
        ]

    def queryset(self, request, queryset):
        return queryset.filter(current_phase=self.value()) if self.value() else queryset


@admin.register(Epoch)
class EpochAdmin(admin.ModelAdmin):
    list_display = [
        "epoch_id",
        "progress",
        "current_phase",
        "status_badge",
        "domain",
        "blocker_count",
        "started_by",
        "created_at",
    ]
    list_filter = [PhaseFilter, "status", "domain", "created_at"]
    search_fields = ["epoch_id", "request_description"]
    date_hierarchy = "created_at"
    list_select_related = ["started_by"]
    list_per_page = 50
    actions = ["cancel_selected"]

    class Media:
        css = {"all": ["epochs/epochs.css"]}

    def get_queryset(self, request: HttpRequest):
        return outbox.with_start(super().get_queryset(request), "epoch_id")

    @admin.display(description="status", ordering="status")
    def status_badge(self, epoch: Epoch) -> str:
        return format_html("{} {}", epoch.get_status_display(), waiting_badge(epoch))

    @admin.display(description="progress")
    def progress(self, epoch: Epoch) -> str:
        return progress_bar(epoch)

    def has_change_permission(self, request: HttpRequest, obj: Epoch | None = None) -> bool:
        return False  # rows mirror the workflow: they change through the protocol's moves

    def has_delete_permission(self, request: HttpRequest, obj: Epoch | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("epochs.cancel_epoch")

    def has_terminate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("epochs.terminate_epoch")

    @admin.action(description="Cancel selected epochs…", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset):
        def plan(epoch: Epoch) -> tuple[bool, str]:
            if epoch.status in services.OPEN_STATUSES:
                return True, "will be cancelled"
            return False, f"already ended ({epoch.get_status_display()}) — skipped"

        def apply(epoch: Epoch, reason: str) -> str:
            services.cancel_epoch(epoch, actor=user_actor(request.user), reason=reason)
            return "cancelled"

        return confirm_bulk_action(
            self,
            request,
            queryset,
            action="cancel_selected",
            title="Cancel epochs",
            plan=plan,
            apply=apply,
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "constraints/",
                wrap(self.constraints_view),
                name="%s_%s_constraints" % info,
            ),
            path("stuck/", wrap(self.stuck_view), name="%s_%s_stuck" % info),
            path(
                "<path:object_id>/advance/", wrap(self.advance_view), name="%s_%s_advance" % info
            ),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="%s_%s_cancel" % info),
            path(
                "<path:object_id>/terminate/",
                wrap(self.terminate_view),
                name="%s_%s_terminate" % info,
            ),
            path("<path:object_id>/vote/", wrap(self.vote_view), name="%s_%s_vote" % info),
            path(
                "<path:object_id>/blocker/", wrap(self.blocker_view), name="%s_%s_blocker" % info
            ),
            *super().get_urls(),
        ]

    # --- pages ------------------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """The start page: create the row, the workflow starts once it is committed."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StartEpochForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                started = services.start_epoch(
                    epoch_id=form.cleaned_data["epoch_id"] or None,
                    request_description=form.cleaned_data["request_description"],
                    user=request.user,
                )
            except EpochExists as exc:
                form.add_error("epoch_id", str(exc))
            else:
                epoch = started.record
                level, text = start_message(
                    f"Epoch {epoch.epoch_id}", started.start, verb="started"
                )
                self.message_user(request, text, level)
                return HttpResponseRedirect(self._detail_url(epoch))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Start an epoch",
            "form": form,
        }
        return TemplateResponse(request, "admin/epochs/epoch/start.html", context)

    def constraints_view(self, request: HttpRequest) -> HttpResponse:
        """The read-only reference of the protocol's constraints and handoffs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Protocol constraints",
            "constraints": CONSTRAINT_SPECS.values(),
            "handoffs": HANDOFF_SPECS.values(),
        }
        return TemplateResponse(request, "admin/epochs/epoch/constraints.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        """The detail page: timeline, votes, findings, slices, sessions, audit, and moves."""
        epoch = self._epoch(request, object_id)
        snapshot = services.live_snapshot(epoch)
        user = request.user
        live_votes = snapshot.state.review_votes if snapshot else {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Epoch {epoch.epoch_id}",
            "epoch": epoch,
            "progress": progress_bar(epoch),
            "waiting_badge": waiting_badge(epoch),
            "phase_name": PHASE_SPECS[epoch.current_phase].name
            if epoch.current_phase in PHASE_SPECS
            else "Complete",
            "snapshot": snapshot,
            "axes": [(axis.value, live_votes.get(axis, "")) for axis in ReviewAxis],
            "transitions": epoch.transitions.all(),
            "votes": epoch.votes.order_by("sequence"),
            "blockers": epoch.blockers.all(),
            "slices": epoch.slices.all(),
            "sessions": epoch.sessions.all(),
            "audit_events": subjects.visible_to(
                AuditEvent.objects.for_subject(services.SUBJECT_KIND, epoch.epoch_id), user
            ),
            "can_advance": snapshot is not None and user.has_perm("epochs.advance_epoch"),
            "can_vote": snapshot is not None
            and snapshot.state.current_phase in (PhaseId.P4_Review, PhaseId.P10_CodeReview)
            and user.has_perm("epochs.vote_epoch"),
            "can_block": snapshot is not None and user.has_perm("epochs.record_blocker"),
            "vote_form": VoteForm(),
            "blocker_form": BlockerForm(),
            "is_open": epoch.status in services.OPEN_STATUSES,
            "can_cancel": self.has_cancel_permission(request),
            "can_terminate": self.has_terminate_permission(request),
        }
        return TemplateResponse(request, "admin/epochs/epoch/detail.html", context)

    # --- moves ------------------------------------------------------------------------------

    def advance_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        epoch = self._epoch(request, object_id, "epochs.advance_epoch")
        to_phase = request.POST.get("to_phase", "")
        if to_phase not in {p.value for p in PhaseId}:
            self.message_user(request, f"Unknown phase {to_phase!r}.", messages.ERROR)
        else:
            self._move(
                request,
                lambda: services.advance_epoch(
                    epoch, to_phase=PhaseId(to_phase), user=request.user
                ),
                f"Advanced to {to_phase}.",
            )
        return HttpResponseRedirect(self._detail_url(epoch))

    def vote_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        epoch = self._epoch(request, object_id, "epochs.vote_epoch")
        form = VoteForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            self._move(
                request,
                lambda: services.vote(epoch, **data, user=request.user),
                f"Voted {data['vote']} on {data['axis']}.",
            )
        else:
            self.message_user(request, f"Invalid vote: {form.errors.as_text()}", messages.ERROR)
        return HttpResponseRedirect(self._detail_url(epoch))

    def blocker_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        epoch = self._epoch(request, object_id, "epochs.record_blocker")
        form = BlockerForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            verb = "Resolved" if data["resolved"] else "Recorded"
            self._move(
                request,
                lambda: services.record_finding(epoch, **data, user=request.user),
                f"{verb} {data['severity']} {data['blocker_id']}.",
            )
        else:
            self.message_user(request, f"Invalid finding: {form.errors.as_text()}", messages.ERROR)
        return HttpResponseRedirect(self._detail_url(epoch))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        epoch = self._epoch(request, object_id, "epochs.cancel_epoch")
        form = ReasonForm(request.POST)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._move(
                request,
                lambda: services.cancel_epoch(
                    epoch, actor=user_actor(request.user), reason=reason
                ),
                f"Epoch {epoch.epoch_id} cancelled.",
            )
        else:
            self.message_user(request, f"Invalid reason: {form.errors.as_text()}", messages.ERROR)
        return HttpResponseRedirect(self._detail_url(epoch))

    def terminate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        epoch = self._epoch(request, object_id, "epochs.terminate_epoch")
        form = ReasonForm(request.POST, required=True)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._move(
                request,
                lambda: services.terminate_epoch(
                    epoch, actor=user_actor(request.user), reason=reason
                ),
                f"Epoch {epoch.epoch_id} terminated.",
            )
        else:
            self.message_user(
                request,
                f"A reason is required to terminate: {form.errors.as_text()}",
                messages.ERROR,
            )
        return HttpResponseRedirect(self._detail_url(epoch))

    def stuck_view(self, request: HttpRequest) -> HttpResponse:
        """Running epochs whose workflow keeps retrying one of its own activities."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        running = Epoch.objects.filter(status=Epoch.Status.RUNNING)
        return stuck_work_page(
            self, request, running, workflow_id_field="epoch_id", oldest_first="created_at"
        )

    # --- helpers ----------------------------------------------------------------------------

    def _epoch(self, request: HttpRequest, object_id: str, permission: str = "") -> Epoch:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if permission and (request.method != "POST" or not request.user.has_perm(permission)):
            raise PermissionDenied
        return get_object_or_404(outbox.with_start(Epoch.objects.all(), "epoch_id"), pk=object_id)

    def _detail_url(self, epoch: Epoch) -> str:
        return reverse("admin:epochs_epoch_change", args=[epoch.pk])

    def _move(self, request: HttpRequest, operation, success: str) -> None:
        try:
            operation()
        except MoveRefused as refused:
            for violation in refused.violations:
                self.message_user(request, f"Refused: {violation}", messages.ERROR)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        except RPCError as exc:
            self.message_user(request, f"Temporal is not available: {exc}", messages.ERROR)
        else:
            self.message_user(request, success, messages.SUCCESS)
