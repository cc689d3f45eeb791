"""Crisis schedule admin: define drills, pause/resume, trigger now, backfill a window, and see
the next firing times Temporal reports. Every change goes through crises.services.schedules."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from audit import subjects as audit_subjects
from audit.models import AuditEvent
from audit.services import user_actor
from aura_site.errors import DomainError
from crises.models import Crisis, CrisisSchedule
from crises.services import schedules, temporal_schedules
from crises.services.schedules import SUBJECT_KIND

FIELDS = ("name", "target", "missions", "cron", "interval_seconds", "paused")
MISSIONS_HELP = (
    'A JSON list, e.g. [{"phase_id": "phase-1", "agent_id": "agent-recon-001", '
    '"action": "recon", "target": "target-alpha", "priority": 1}]'
)


class CrisisScheduleForm(forms.ModelForm):
    """The schedule's fields, checked by the same rules as the REST API (the service's)."""

    missions = forms.JSONField(
        help_text=MISSIONS_HELP, widget=forms.Textarea(attrs={"rows": 6, "cols": 90})
    )

    class Meta:
        model = CrisisSchedule
        fields = list(FIELDS)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        fields = {name: data.get(name) for name in FIELDS}
        if self.instance.pk:
            fields["name"] = self.instance.name
        for key, messages_ in schedules.schedule_errors(
            fields, creating=not self.instance.pk
        ).items():
            field = key.split(".")[0]
            for message in messages_:
                self.add_error(field, message if key == field else f"{key}: {message}")
        return data


class BackfillForm(forms.Form):
    start = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="UTC"
    )
    end = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="UTC; not in the future",
    )


@admin.register(CrisisSchedule)
class CrisisScheduleAdmin(admin.ModelAdmin):
    """Recurring crises; the service keeps each row and its Temporal schedule in step."""

    form = CrisisScheduleForm
    list_display = ["name", "target", "every", "paused", "sync_badge", "updated_at"]
    list_filter = ["paused", "sync_state"]
    search_fields = ["name", "target"]
    actions = ["pause_schedules", "resume_schedules", "trigger_schedules"]
    change_form_template = "admin/crises/crisisschedule/change_form.html"

    class Media:
        css = {"all": ["crises/crisis_admin.css"]}

    def get_readonly_fields(self, request: HttpRequest, obj: CrisisSchedule | None = None):
        if obj is None:
            return []
        # The schedule's crises and audit events only for those who may read them.
        user = request.user
        return [
            "name",
            "temporal_schedule_id",
            "sync_badge",
            "sync_error",
            "synced_at",
            "next_run_times",
            *(["recent_crises"] if user.has_perm("crises.view_crisis") else []),
            *(["events"] if user.has_perm(audit_subjects.VIEW_PERMISSION) else []),
        ]

    def get_fields(self, request: HttpRequest, obj: CrisisSchedule | None = None):
        if obj is None:
            return list(FIELDS)
        return [*FIELDS, *self.get_readonly_fields(request, obj)[1:]]

    @admin.display(description="sync", ordering="sync_state")
    def sync_badge(self, schedule: CrisisSchedule) -> str:
        return format_html(
            '<span class="crisis-status schedule-sync-{}" title="{}">{}</span>',
            schedule.sync_state,
            schedule.sync_error,
            schedule.get_sync_state_display(),
        )

    @admin.display(description="Temporal schedule")
    def temporal_schedule_id(self, schedule: CrisisSchedule) -> str:
        return temporal_schedules.schedule_id(schedule.name)

    @admin.display(description="next runs (UTC)")
    def next_run_times(self, schedule: CrisisSchedule) -> str:
        description = schedules.describe_schedule(schedule)
        if description is None:
            return "Temporal cannot say (not reachable, or the schedule is missing there)."
        times = description.info.next_action_times[:5]
        if not times:
            return "none (paused)" if schedule.paused else "none"
        return format_html(
            '{}<ul id="schedule-next-runs">{}</ul>',
            "Paused; once resumed:" if schedule.paused else "",
            format_html_join(
                "", "<li>{}</li>", ((t.strftime("%Y-%m-%d %H:%M:%S"),) for t in times)
            ),
        )

    @admin.display(description="recent crises")
    def recent_crises(self, schedule: CrisisSchedule) -> str:
        crises = Crisis.objects.filter(schedule=schedule).order_by("-started_at")[:10]
        if not crises:
            return "none yet"
        return format_html(
            '<ul id="schedule-crises">{}</ul>',
            format_html_join(
                "",
                '<li><a href="{}">{}</a> {}</li>',
                (
                    (reverse("admin:crises_crisis_change", args=[c.pk]), c.crisis_id, c.status)
                    for c in crises
                ),
            ),
        )

    @admin.display(description="audit events")
    def events(self, schedule: CrisisSchedule) -> str:
        found = AuditEvent.objects.for_subject(SUBJECT_KIND, schedule.name).order_by("-seq")[:10]
        return format_html(
            '<ul id="schedule-events">{}</ul>',
            format_html_join(
                "",
                "<li>{} {} {}</li>",
                (
                    (e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.event_type, e.actor)
                    for e in found
                ),
            ),
        )

    def save_model(self, request: HttpRequest, obj: CrisisSchedule, form, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in FIELDS if name in form.cleaned_data}
        actor = user_actor(request.user)
        if change:
            fields.pop("name", None)
            schedules.update_schedule(obj, actor=actor, **fields)
            return
        saved = schedules.create_schedule(user=request.user, actor=actor, **fields)
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request: HttpRequest, obj: CrisisSchedule) -> None:
        schedules.delete_schedule(obj, actor=user_actor(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for schedule in queryset:
            self.delete_model(request, schedule)

    def _each(self, request: HttpRequest, queryset: QuerySet, operate, verb: str) -> None:
        done = []
        for schedule in queryset:
            try:
                operate(schedule)
            except DomainError as exc:
                self.message_user(request, f"{schedule.name}: {exc}", messages.ERROR)
            else:
                done.append(schedule.name)
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.")

    @admin.action(description="Pause selected schedules", permissions=["change"])
    def pause_schedules(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = user_actor(request.user)
        self._each(
            request, queryset, lambda s: schedules.set_paused(s, True, actor=actor), "Paused"
        )

    @admin.action(description="Resume selected schedules", permissions=["change"])
    def resume_schedules(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = user_actor(request.user)
        self._each(
            request, queryset, lambda s: schedules.set_paused(s, False, actor=actor), "Resumed"
        )

    @admin.action(description="Trigger selected schedules now", permissions=["change"])
    def trigger_schedules(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = user_actor(request.user)
        self._each(
            request, queryset, lambda s: schedules.trigger_schedule(s, actor=actor), "Triggered"
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        operate = [
            path(
                f"<path:object_id>/{verb}/",
                self.admin_site.admin_view(require_POST(view)),
                name="%s_%s_%s" % (*info, verb),
            )
            for verb, view in (
                ("trigger", self.trigger_view),
                ("pause", self.pause_view),
                ("resume", self.resume_view),
            )
        ]
        backfill = path(
            "<path:object_id>/backfill/",
            self.admin_site.admin_view(self.backfill_view),
            name="%s_%s_backfill" % info,
        )
        return [*operate, backfill, *super().get_urls()]

    def _changeable(self, request: HttpRequest, object_id: str) -> CrisisSchedule:
        schedule = get_object_or_404(CrisisSchedule, pk=object_id)
        if not self.has_change_permission(request, schedule):
            raise PermissionDenied
        return schedule

    def _back(self, schedule: CrisisSchedule) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:crises_crisisschedule_change", args=[schedule.pk])
        )

    def trigger_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        schedule = self._changeable(request, object_id)
        self._each(
            request,
            [schedule],
            lambda s: schedules.trigger_schedule(s, actor=user_actor(request.user)),
            "Triggered",
        )
        return self._back(schedule)

    def pause_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        schedule = self._changeable(request, object_id)
        self.pause_schedules(request, [schedule])
        return self._back(schedule)

    def resume_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        schedule = self._changeable(request, object_id)
        self.resume_schedules(request, [schedule])
        return self._back(schedule)

    def backfill_view(self, request: HttpRequest, object_id: str):
        """Fire the schedule for each time it would have fired in a past window."""
        schedule = self._changeable(request, object_id)
        form = BackfillForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                firings = schedules.backfill_schedule(
                    schedule,
                    start=form.cleaned_data["start"],
                    end=form.cleaned_data["end"],
                    actor=user_actor(request.user),
                )
            except schedules.InvalidSchedule as exc:
                for field, messages_ in (exc.errors or {}).items():
                    for message in messages_:
                        form.add_error(field if field in form.fields else None, message)
            except DomainError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Backfill of {schedule.name}: {firings} firing(s).")
                return self._back(schedule)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": schedule,
            "title": f"Backfill {schedule.name}",
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/crises/crisisschedule/backfill.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_operate"] = obj is not None and self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
