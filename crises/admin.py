"""Crisis admin: a list with progress, a trigger page, and a live, read-only detail page."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from audit import subjects
from audit.models import AuditEvent
from audit.services import user_actor
from aura_site.errors import DomainError
from aura_site.runs import outbox
from aura_site.runs.admin_views import ReasonForm, confirm_bulk_action, stuck_work_page
from aura_site.runs.presentation import start_message, waiting_badge
from crises import (
    schedule_admin,  # noqa: F401  (registers the crisis schedule admin)
    services,
)
from crises.api.serializers import CrisisSerializer
from crises.exceptions import InvalidCrisisRequest
from crises.forms import MissionFormSet, TriggerForm, missions_from
from crises.models import Crisis, CrisisStatus, PhaseStatus


def _duration(delta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{delta.total_seconds():.1f}s"
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


@admin.register(Crisis)
class CrisisAdmin(admin.ModelAdmin):
    """Triggering goes through crises.services; records are never edited or deleted here."""

    list_display = [
        "crisis_id",
        "target",
        "status_badge",
        "progress",
        "started_at",
        "duration",
        "schedule",
    ]
    list_select_related = ["schedule"]
    list_filter = ["status", "started_at", "schedule"]
    search_fields = ["crisis_id", "workflow_id", "target", "initiated_by", "schedule__name"]
    date_hierarchy = "started_at"
    ordering = ["-started_at"]
    list_per_page = 50
    # A filtered page counts its matches only, not every crisis a second time ("Show all").
    show_full_result_count = False
    actions = ["cancel_selected", "rerun_selected"]

    class Media:
        css = {"all": ["crises/crisis_admin.css"]}

    def get_queryset(self, request: HttpRequest):
        return outbox.with_start(super().get_queryset(request).with_progress())

    @admin.display(description="status", ordering="status")
    def status_badge(self, crisis: Crisis) -> str:
        return format_html(
            '<span class="crisis-status crisis-status-{}">{}</span> {}',
            crisis.status,
            crisis.get_status_display(),
            waiting_badge(crisis),
        )

    @admin.display(description="progress")
    def progress(self, crisis: Crisis) -> str:
        done = crisis.completed_count + crisis.failed_count
        return f"{done}/{crisis.total_count}"

    @admin.display(description="duration")
    def duration(self, crisis: Crisis) -> str:
        return _duration(crisis.duration)

    def has_delete_permission(self, request: HttpRequest, obj: Crisis | None = None) -> bool:
        return False

    def has_terminate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("crises.terminate_crisis")

    # --- bulk actions -----------------------------------------------------------------------

    @admin.action(description="Cancel selected crises…", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset):
        def plan(crisis: Crisis) -> tuple[bool, str]:
            if crisis.is_active:
                return True, "will be cancelled"
            return False, f"already ended ({crisis.get_status_display()}) — skipped"

        def apply(crisis: Crisis, reason: str) -> str:
            services.cancel_crisis(crisis, actor=user_actor(request.user), reason=reason)
            return "cancel requested"

        return confirm_bulk_action(
            self,
            request,
            queryset,
            action="cancel_selected",
            title="Cancel crises",
            plan=plan,
            apply=apply,
        )

    @admin.action(description="Re-run selected crises…", permissions=["add"])
    def rerun_selected(self, request: HttpRequest, queryset):
        def plan(crisis: Crisis) -> tuple[bool, str]:
            missions = crisis.total_count
            return True, f"will be re-run as a new crisis ({crisis.target}, {missions} missions)"

        def apply(crisis: Crisis, reason: str) -> str:
            outcome = self._rerun(request, crisis, reason)
            return f"re-run as {outcome.record.crisis_id}"

        return confirm_bulk_action(
            self,
            request,
            queryset,
            action="rerun_selected",
            title="Re-run crises",
            plan=plan,
            apply=apply,
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(require_POST(self.cancel_view)),
                name="%s_%s_cancel" % info,
            ),
            path(
                "<path:object_id>/rerun/",
                self.admin_site.admin_view(require_POST(self.rerun_view)),
                name="%s_%s_rerun" % info,
            ),
            path(
                "<path:object_id>/terminate/",
                self.admin_site.admin_view(require_POST(self.terminate_view)),
                name="%s_%s_terminate" % info,
            ),
            path("stuck/", self.admin_site.admin_view(self.stuck_view), name="%s_%s_stuck" % info),
            path(
                "<path:object_id>/progress.json",
                self.admin_site.admin_view(self.progress_view),
                name="%s_%s_progress" % info,
            ),
            *super().get_urls(),
        ]

    def _crisis(self, request: HttpRequest, object_id: str) -> Crisis:
        crisis = get_object_or_404(
            outbox.with_start(
                Crisis.objects.select_related("rerun_of").prefetch_related("phases", "reruns")
            ),
            pk=object_id,
        )
        if not self.has_view_or_change_permission(request, crisis):
            raise PermissionDenied
        return crisis

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Trigger a crisis: a target and its missions, started through crises.services."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TriggerForm(request.POST or None)
        missions = MissionFormSet(request.POST or None, prefix="missions")
        if request.method == "POST" and form.is_valid() and missions.is_valid():
            target = form.cleaned_data["target"]
            try:
                outcome = services.trigger_crisis(
                    target=target,
                    missions=missions_from(missions, target),
                    initiated_by=form.cleaned_data["initiated_by"] or request.user.get_username(),
                    user=request.user,
                    actor=user_actor(request.user),
                )
            except InvalidCrisisRequest as exc:
                for field, messages_ in exc.errors.items():
                    form.add_error(None, f"{field}: {' '.join(messages_)}")
            else:
                crisis = outcome.record
                self.log_addition(request, crisis, [{"added": {}}])
                level, text = start_message(
                    f"Crisis {crisis.crisis_id}", outcome.start, verb="triggered"
                )
                self.message_user(request, text, level)
                return HttpResponseRedirect(self._detail_url(crisis))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Trigger a crisis response",
            "form": form,
            "missions": missions,
            "has_view_permission": self.has_view_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/crises/crisis/trigger.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        """The crisis, read-only, refreshed live while it runs."""
        crisis = self._crisis(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": crisis.crisis_id,
            "crisis": crisis,
            "original": crisis,
            "phases": crisis.phases.all(),
            "summary": services.summary(crisis),
            "waiting_badge": waiting_badge(crisis),
            "events": subjects.visible_to(
                AuditEvent.objects.for_subject(services.SUBJECT_KIND, crisis.crisis_id),
                request.user,
            ),
            "temporal_ui_url": services.temporal_ui_url(crisis),
            "duration": _duration(crisis.duration),
            "can_cancel": crisis.is_active and self.has_change_permission(request, crisis),
            "cancel_url": reverse("admin:crises_crisis_cancel", args=[crisis.pk]),
            "can_rerun": self.has_add_permission(request),
            "rerun_url": reverse("admin:crises_crisis_rerun", args=[crisis.pk]),
            "can_terminate": crisis.is_active and self.has_terminate_permission(request),
            "terminate_url": reverse("admin:crises_crisis_terminate", args=[crisis.pk]),
            "reason_form": ReasonForm(),
            "reruns": crisis.reruns.all(),
            "progress_url": reverse("admin:crises_crisis_progress", args=[crisis.pk]),
            "has_view_permission": True,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/crises/crisis/detail.html", context)

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The crisis record as JSON, for the detail page's live refresh."""
        crisis = self._crisis(request, object_id)
        data = dict(CrisisSerializer(crisis).data)
        data["active"] = crisis.is_active
        data["duration"] = _duration(crisis.duration)
        # The page shows labels; the record keeps the API's machine values.
        data["status_labels"] = dict(CrisisStatus.choices)
        data["phase_status_labels"] = dict(PhaseStatus.choices)
        return JsonResponse(data)

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        crisis = self._crisis(request, object_id)
        if not self.has_change_permission(request, crisis):
            raise PermissionDenied
        form = ReasonForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Invalid reason: {form.errors.as_text()}", messages.ERROR)
            return HttpResponseRedirect(self._detail_url(crisis))
        try:
            services.cancel_crisis(
                crisis, actor=user_actor(request.user), reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Cancel requested for crisis {crisis.crisis_id}.")
        return HttpResponseRedirect(self._detail_url(crisis))

    def rerun_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """Re-run the crisis (optional reason) and show the new one."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        crisis = self._crisis(request, object_id)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Invalid reason: {form.errors.as_text()}", messages.ERROR)
            return HttpResponseRedirect(self._detail_url(crisis))
        try:
            outcome = self._rerun(request, crisis, form.cleaned_data["reason"])
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._detail_url(crisis))
        level, text = start_message(
            f"Crisis {outcome.record.crisis_id} (re-run of {crisis.crisis_id})",
            outcome.start,
            verb="triggered",
        )
        self.message_user(request, text, level)
        return HttpResponseRedirect(self._detail_url(outcome.record))

    def terminate_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """Terminate a stuck crisis; a reason is required."""
        if not self.has_terminate_permission(request):
            raise PermissionDenied
        crisis = self._crisis(request, object_id)
        form = ReasonForm(request.POST, required=True)
        if not form.is_valid():
            self.message_user(
                request,
                f"A reason is required to terminate: {form.errors.as_text()}",
                messages.ERROR,
            )
            return HttpResponseRedirect(self._detail_url(crisis))
        try:
            services.terminate_crisis(
                crisis, actor=user_actor(request.user), reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Crisis {crisis.crisis_id} terminated.", messages.WARNING)
        return HttpResponseRedirect(self._detail_url(crisis))

    def stuck_view(self, request: HttpRequest) -> TemplateResponse:
        """Running crises whose current mission keeps failing and is being retried."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        running = Crisis.objects.filter(status=CrisisStatus.RUNNING)
        return stuck_work_page(
            self, request, running, workflow_id_field="workflow_id", oldest_first="started_at"
        )

    def _rerun(self, request: HttpRequest, crisis: Crisis, reason: str) -> services.Trigger:
        outcome = services.rerun_crisis(
            crisis, user=request.user, actor=user_actor(request.user), reason=reason
        )
        self.log_addition(request, outcome.record, [{"added": {}}])
        return outcome

    def _detail_url(self, crisis: Crisis) -> str:
        return reverse("admin:crises_crisis_change", args=[crisis.pk])
