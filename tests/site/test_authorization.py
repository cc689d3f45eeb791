"""The authorization matrix: every API route and every admin page and action, for every kind of
user, by token and by session.

The routes come from the URL configuration and the admin's actions from each ModelAdmin, so a
new route or action without an entry below fails `test_every_route_has_an_entry`.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent
from audit.services import record_event
from crises.models import Crisis, CrisisSchedule
from epochs.models import Epoch
from tests.conftest import free_port, user_with

PUBLIC = "public"  # anyone, anonymous included
LOGGED_IN = "logged-in"  # any authenticated user
NOBODY = "nobody"  # refused to everyone, superusers included (e.g. editing the audit trail)

SCHEDULE_VIEW = "crises.view_crisisschedule"
SCHEDULE_CHANGE = (SCHEDULE_VIEW, "crises.change_crisisschedule")
# The admin's change permission implies viewing, as Django has it.
ADMIN_SCHEDULE_CHANGE = ("crises.change_crisisschedule",)

ROLES = ("anonymous", "no_permissions", "view_only", "specific", "staff", "superuser")
OUR_APPS = ("crises", "epochs", "audit", "aura_site")

# (URL name, method) → what it needs. Bodies are empty or invalid, so an authorised request
# stops at validation (400) or at the record's state (409) and never reaches Temporal.
API_MATRIX: dict[tuple[str, str], Any] = {
    ("audit-event-list", "get"): ("audit.view_auditevent",),
    ("audit-event-detail", "get"): ("audit.view_auditevent",),
    ("crisis-list", "get"): ("crises.view_crisis",),
    ("crisis-list", "post"): ("crises.add_crisis",),
    ("crisis-detail", "get"): ("crises.view_crisis",),
    ("crisis-wait", "get"): ("crises.view_crisis",),
    ("crisis-cancel", "post"): ("crises.view_crisis", "crises.change_crisis"),
    ("crisis-rerun", "post"): ("crises.view_crisis", "crises.add_crisis"),
    ("crisis-terminate", "post"): ("crises.view_crisis", "crises.terminate_crisis"),
    ("crisis-schedule-list", "get"): ("crises.view_crisisschedule",),
    ("crisis-schedule-list", "post"): (SCHEDULE_VIEW, "crises.add_crisisschedule"),
    ("crisis-schedule-detail", "get"): ("crises.view_crisisschedule",),
    ("crisis-schedule-detail", "put"): (
        "crises.view_crisisschedule",
        "crises.change_crisisschedule",
    ),
    ("crisis-schedule-detail", "patch"): (
        "crises.view_crisisschedule",
        "crises.change_crisisschedule",
    ),
    ("crisis-schedule-detail", "delete"): (
        "crises.view_crisisschedule",
        "crises.delete_crisisschedule",
    ),
    ("crisis-schedule-pause", "post"): (
        "crises.view_crisisschedule",
        "crises.change_crisisschedule",
    ),
    ("crisis-schedule-resume", "post"): (
        "crises.view_crisisschedule",
        "crises.change_crisisschedule",
    ),
    ("crisis-schedule-trigger", "post"): (
        "crises.view_crisisschedule",
        "crises.change_crisisschedule",
    ),
    ("crisis-schedule-backfill", "post"): (
        "crises.view_crisisschedule",
        "crises.change_crisisschedule",
    ),
    ("epoch-list", "get"): ("epochs.view_epoch",),
    ("epoch-list", "post"): ("epochs.add_epoch",),
    ("epoch-detail", "get"): ("epochs.view_epoch",),
    ("epoch-history", "get"): ("epochs.view_epoch",),
    ("epoch-audit-events", "get"): ("epochs.view_epoch", "audit.view_auditevent"),
    ("epoch-advance", "post"): ("epochs.view_epoch", "epochs.advance_epoch"),
    ("epoch-votes", "post"): ("epochs.view_epoch", "epochs.vote_epoch"),
    ("epoch-blockers", "post"): ("epochs.view_epoch", "epochs.record_blocker"),
    ("epoch-slices", "post"): ("epochs.view_epoch", "epochs.submit_slice"),
    ("epoch-sessions", "post"): ("epochs.view_epoch", "epochs.register_session"),
    ("epoch-cancel", "post"): ("epochs.view_epoch", "epochs.cancel_epoch"),
    ("epoch-terminate", "post"): ("epochs.view_epoch", "epochs.terminate_epoch"),
    ("protocol-constraints", "get"): LOGGED_IN,
    ("protocol-constraints-check", "post"): LOGGED_IN,
    ("schema", "get"): PUBLIC,
    ("swagger-ui", "get"): PUBLIC,
    ("redoc", "get"): PUBLIC,
    ("codec-encode", "post"): ("aura_site.use_payload_codec",),
    ("codec-decode", "post"): ("aura_site.use_payload_codec",),
}

# Admin URL name → {method: what it needs}, for the admin pages of Aura's own apps.
ADMIN_MATRIX: dict[str, dict[str, Any]] = {
    "crises_crisis_changelist": {"get": ("crises.view_crisis",)},
    "crises_crisis_add": {"get": ("crises.add_crisis",), "post": ("crises.add_crisis",)},
    "crises_crisis_change": {"get": ("crises.view_crisis",)},
    "crises_crisis_history": {"get": ("crises.view_crisis",)},
    "crises_crisis_delete": {"get": NOBODY, "post": NOBODY},
    "crises_crisis_progress": {"get": ("crises.view_crisis",)},
    "crises_crisis_cancel": {"post": ("crises.change_crisis",)},
    "crises_crisis_rerun": {"post": ("crises.view_crisis", "crises.add_crisis")},
    "crises_crisis_terminate": {"post": ("crises.view_crisis", "crises.terminate_crisis")},
    "crises_crisis_stuck": {"get": ("crises.view_crisis",)},
    "crises_crisisschedule_changelist": {"get": ("crises.view_crisisschedule",)},
    "crises_crisisschedule_add": {
        "get": ("crises.add_crisisschedule",),
        "post": ("crises.add_crisisschedule",),
    },
    "crises_crisisschedule_change": {
        "get": ("crises.view_crisisschedule",),
        "post": ADMIN_SCHEDULE_CHANGE,
    },
    "crises_crisisschedule_history": {"get": ("crises.view_crisisschedule",)},
    "crises_crisisschedule_delete": {
        "get": ("crises.delete_crisisschedule",),
        "post": ("crises.delete_crisisschedule",),
    },
    "crises_crisisschedule_pause": {"post": ADMIN_SCHEDULE_CHANGE},
    "crises_crisisschedule_resume": {"post": ADMIN_SCHEDULE_CHANGE},
    "crises_crisisschedule_trigger": {"post": ADMIN_SCHEDULE_CHANGE},
    "crises_crisisschedule_backfill": {
        "get": ADMIN_SCHEDULE_CHANGE,
        "post": ADMIN_SCHEDULE_CHANGE,
    },
    "epochs_epoch_changelist": {"get": ("epochs.view_epoch",)},
    "epochs_epoch_add": {"get": ("epochs.add_epoch",), "post": ("epochs.add_epoch",)},
    "epochs_epoch_change": {"get": ("epochs.view_epoch",)},
    "epochs_epoch_history": {"get": ("epochs.view_epoch",)},
    "epochs_epoch_delete": {"get": NOBODY, "post": NOBODY},
    "epochs_epoch_constraints": {"get": ("epochs.view_epoch",)},
    "epochs_epoch_advance": {"post": ("epochs.view_epoch", "epochs.advance_epoch")},
    "epochs_epoch_vote": {"post": ("epochs.view_epoch", "epochs.vote_epoch")},
    "epochs_epoch_blocker": {"post": ("epochs.view_epoch", "epochs.record_blocker")},
    "epochs_epoch_cancel": {"post": ("epochs.view_epoch", "epochs.cancel_epoch")},
    "epochs_epoch_terminate": {"post": ("epochs.view_epoch", "epochs.terminate_epoch")},
    "epochs_epoch_stuck": {"get": ("epochs.view_epoch",)},
    "audit_auditevent_changelist": {"get": ("audit.view_auditevent",)},
    "audit_auditevent_add": {"get": NOBODY, "post": NOBODY},
    "audit_auditevent_change": {"get": ("audit.view_auditevent",), "post": NOBODY},
    "audit_auditevent_history": {"get": ("audit.view_auditevent",)},
    "audit_auditevent_delete": {"get": NOBODY, "post": NOBODY},
    "aura_site_apitoken_changelist": {"get": ("aura_site.view_apitoken",)},
    "aura_site_apitoken_add": {
        "get": ("aura_site.add_apitoken",),
        "post": ("aura_site.add_apitoken",),
    },
    "aura_site_apitoken_change": {"get": ("aura_site.view_apitoken",)},
    "aura_site_apitoken_history": {"get": ("aura_site.view_apitoken",)},
    "aura_site_apitoken_delete": {
        "get": ("aura_site.delete_apitoken",),
        "post": ("aura_site.delete_apitoken",),
    },
}

# (model label, action name) → what it needs: the bulk actions of the changelists.
ACTION_MATRIX: dict[tuple[str, str], Any] = {
    ("crises.Crisis", "cancel_selected"): ("crises.change_crisis",),
    ("crises.Crisis", "rerun_selected"): ("crises.add_crisis",),
    ("epochs.Epoch", "cancel_selected"): ("epochs.view_epoch", "epochs.cancel_epoch"),
    ("crises.CrisisSchedule", "delete_selected"): ("crises.delete_crisisschedule",),
    ("crises.CrisisSchedule", "pause_schedules"): ADMIN_SCHEDULE_CHANGE,
    ("crises.CrisisSchedule", "resume_schedules"): ADMIN_SCHEDULE_CHANGE,
    ("crises.CrisisSchedule", "trigger_schedules"): ADMIN_SCHEDULE_CHANGE,
}


def _patterns(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def api_routes() -> set[tuple[str, str]]:
    """Return (URL name, method) of every route under /api/ and /codec/ (the Temporal UI's
    codec endpoint), from the URL configuration."""
    routes = set()
    for route, pattern in _patterns(get_resolver().url_patterns):
        if not route.startswith(("api/", "codec/")):
            continue
        actions = getattr(pattern.callback, "actions", None)
        view = getattr(pattern.callback, "cls", None) or pattern.callback.view_class
        methods = actions or {m: m for m in view.http_method_names if hasattr(view, m)}
        # HEAD answers as GET does, and OPTIONS describes the route: neither acts on records.
        routes.update((pattern.name, m) for m in methods if m not in ("head", "options"))
    return routes


def app_of(url_name: str) -> str | None:
    return next((app for app in OUR_APPS if url_name.startswith(f"{app}_")), None)


def admin_routes() -> set[str]:
    """Return the names of the admin URLs of Aura's own apps."""
    return {
        pattern.name
        for _, pattern in _patterns(get_resolver().url_patterns)
        if pattern.name and app_of(pattern.name)
    }


def admin_actions() -> set[tuple[str, str]]:
    """Return the changelist actions a superuser is offered on Aura's own models."""
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return {
        (model._meta.label, name)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in OUR_APPS
        for name in model_admin.get_actions(request)
    }


def test_every_route_has_an_entry() -> None:
    assert api_routes() == set(API_MATRIX)
    assert admin_routes() == set(ADMIN_MATRIX)
    assert admin_actions() == set(ACTION_MATRIX)


VIEW_PERMISSIONS = [
    f"{app}.{codename}"
    for app, codename in [
        ("crises", "view_crisis"),
        ("epochs", "view_epoch"),
        ("audit", "view_auditevent"),
        ("aura_site", "view_apitoken"),
        ("crises", "view_crisisschedule"),
    ]
]


def allowed(role: str, needs: Any) -> bool:
    if needs == PUBLIC:
        return True
    if role == "anonymous" or needs == NOBODY:
        return False
    if needs == LOGGED_IN or role in ("specific", "superuser"):
        return True
    return role == "view_only" and set(needs) <= set(VIEW_PERMISSIONS)


def make_user(role: str, needs: Any) -> User | None:
    """Return the user of `role` for an entry needing `needs` (None for anonymous)."""
    if role == "anonymous":
        return None
    name = f"{role}-{abs(hash(needs))}"
    if role == "superuser":
        return User.objects.create_superuser(name, password="password")
    staff = role != "no_permissions"
    if role == "view_only":
        return user_with(name, *VIEW_PERMISSIONS, is_staff=staff)
    if role == "specific" and isinstance(needs, tuple):
        return user_with(name, *needs, is_staff=staff)
    return user_with(name, is_staff=staff)


@pytest.fixture
def records(db: None, settings: Any) -> dict[str, str]:
    """A crisis and an epoch that have ended, and an audit event: what the routes act on."""
    # Nothing listens there: a request that reached Temporal would fail at once, not hang.
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    now = dt.datetime.now(dt.UTC)
    crisis = Crisis.objects.create(
        crisis_id="crisis-authz-1",
        workflow_id="crisis-workflow-crisis-authz-1",
        target="authz",
        status="completed",
        completed_at=now,
    )
    epoch = Epoch.objects.create(
        epoch_id="epoch-authz", status=Epoch.Status.COMPLETE, current_phase="complete"
    )
    event = record_event(subject_kind="crisis", subject_id="crisis-authz-1", event_type="x")
    token = Token.objects.create(user=User.objects.create_user("token-owner"))
    schedule = CrisisSchedule.objects.create(
        name="authz", target="authz", missions=[], interval_seconds=3600, paused=True
    )
    return {
        "apitoken_pk": str(token.user_id),
        "crisisschedule_pk": str(schedule.pk),
        "name": schedule.name,
        "crisis_id": crisis.crisis_id,
        "epoch_id": epoch.epoch_id,
        "pk": str(event.pk),
        "crisis_pk": str(crisis.pk),
        "epoch_pk": str(epoch.pk),
        "auditevent_pk": str(event.pk),
    }


def api_url(name: str, ids: dict[str, str]) -> str:
    pattern = next(p for _, p in _patterns(get_resolver().url_patterns) if p.name == name)
    return reverse(name, kwargs={key: ids[key] for key in pattern.pattern.regex.groupindex})


def api_client(user: User | None, auth: str) -> Client:
    client = Client()
    if user is not None and auth == "token":
        token = Token.objects.get_or_create(user=user)[0]
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    elif user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize(("name", "method"), sorted(API_MATRIX))
def test_api_route(records: dict, name: str, method: str, auth: str) -> None:
    needs = API_MATRIX[name, method]
    url = api_url(name, records)
    for role in ROLES:
        client = api_client(make_user(role, needs), auth)
        if method == "get":
            response = client.get(url)
        else:
            response = client.generic(method.upper(), url, "{}", "application/json")
        status = response.status_code
        if allowed(role, needs):
            # 503: the schedule actions need Temporal, which is not running here.
            assert status not in (401, 403), (role, status, response.content)
            assert status < 500 or status == 503, (role, status, response.content)
        else:
            assert status == (401 if role == "anonymous" else 403), (role, status)
            assert response["Content-Type"] == "application/problem+json"


def test_a_session_write_needs_the_csrf_token(records: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", password="password"))
    response = client.post(reverse("crisis-list"), {}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Crisis.objects.count() == 1


def admin_url(name: str, ids: dict[str, str]) -> str:
    app = app_of(name)
    if name.endswith(("_changelist", "_add", "_constraints", "_stuck")):
        return reverse(f"admin:{name}")
    model = name.removeprefix(f"{app}_").split("_")[0]
    return reverse(f"admin:{name}", args=[ids[f"{model}_pk"]])


@pytest.mark.parametrize(
    ("name", "method"),
    sorted((name, method) for name, methods in ADMIN_MATRIX.items() for method in methods),
)
def test_admin_page(records: dict, name: str, method: str) -> None:
    needs = ADMIN_MATRIX[name][method]
    url = admin_url(name, records)
    for role in ROLES:
        client = api_client(make_user(role, needs), "session")
        response = getattr(client, method)(url)
        status = response.status_code
        to_login = status == 302 and response["Location"].startswith(reverse("admin:login"))
        if allowed(role, needs) and role != "no_permissions":
            assert status != 403 and not to_login and status < 500, (role, status)
        elif role in ("anonymous", "no_permissions"):
            assert to_login, (role, status)
        else:
            # Django answers a record the user may not see as one that does not exist.
            hidden = status == 302 and response["Location"] == reverse("admin:index")
            assert status == 403 or hidden, (role, status)
    assert Crisis.objects.get().status == "completed"
    assert AuditEvent.objects.count() >= 1


@pytest.mark.parametrize(("model", "action"), sorted(ACTION_MATRIX))
def test_admin_action(records: dict, model: str, action: str) -> None:
    needs = ACTION_MATRIX[model, action]
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label == model)
    for role in ROLES[1:]:
        request = RequestFactory().post("/admin/")
        request.user = make_user(role, needs)
        offered = action in model_admin.get_actions(request)
        assert offered == (allowed(role, needs) and role != "no_permissions"), role


def test_permissions_named_in_the_matrix_exist(db: None) -> None:
    named = {
        perm
        for needs in [
            *API_MATRIX.values(),
            *(n for methods in ADMIN_MATRIX.values() for n in methods.values()),
            *ACTION_MATRIX.values(),
        ]
        if isinstance(needs, tuple)
        for perm in needs
    }
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    assert named <= existing


def test_token_answers(db: None, django_assert_num_queries) -> None:
    """The token lookup (compiled once, aura_site/api/authentication.py) answers as DRF's: the
    user and token, or 401 with the same messages for an unknown key or an inactive user."""
    user = user_with("token-reader", "crises.view_crisis")
    key = Token.objects.create(user=user).key
    client = Client()
    with django_assert_num_queries(1):
        unknown = client.get("/api/v1/crises/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "Invalid token."
    assert unknown["WWW-Authenticate"] == "Token"
    ok = client.get("/api/v1/crises/", HTTP_AUTHORIZATION=f"Token {key}")
    assert ok.status_code == 200, ok.content
    User.objects.filter(pk=user.pk).update(is_active=False)
    inactive = client.get("/api/v1/crises/", HTTP_AUTHORIZATION=f"Token {key}")
    assert inactive.status_code == 401
    assert inactive.json()["detail"] == "User inactive or deleted."
