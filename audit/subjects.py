"""Who may read whose audit events: each subject kind names the permission that views it.

Domain apps register their kinds from `AppConfig.ready()`. Events of a kind nobody registered
are shown to superusers only, so a new kind is never readable by accident.
"""

from typing import Any

from audit.models import AuditEventQuerySet

VIEW_PERMISSION = "audit.view_auditevent"

_view_permissions: dict[str, str] = {}


def register(kind: str, *, view_permission: str) -> None:
    """Show events of subjects of `kind` to users who hold `view_permission`."""
    _view_permissions[kind] = view_permission


def readable_kinds(user: Any) -> list[str]:
    """Return the subject kinds whose events `user` may read (all registered for superusers)."""
    return [kind for kind, perm in _view_permissions.items() if user.has_perm(perm)]


def visible_to(events: AuditEventQuerySet, user: Any) -> AuditEventQuerySet:
    """Narrow `events` to those `user` may read: the audit permission and the subject's own."""
    if not user.has_perm(VIEW_PERMISSION):
        return events.none()
    if user.is_superuser:
        return events
    return events.filter(subject_kind__in=readable_kinds(user))
