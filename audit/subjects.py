"""Who may read which audit events: those of subjects they may view (aura_site/subjects.py)."""

from typing import Any

from audit.models import AuditEventQuerySet
from aura_site import subjects

VIEW_PERMISSION = "audit.view_auditevent"


def visible_to(events: AuditEventQuerySet, user: Any) -> AuditEventQuerySet:
    """Narrow `events` to those `user` may read: the audit permission and the subject's own.

    Events of a kind nobody registered are shown to superusers only.
    """
    if not user.has_perm(VIEW_PERMISSION):
        return events.none()
    if user.is_superuser:
        return events
    return events.filter(subject_kind__in=[s.kind for s in subjects.readable_by(user)])
