"""The kinds of record Aura keeps (crisis, epoch, …): who may view each, and where its list is.

Domain apps register theirs from `AppConfig.ready()`; the audit trail shows a kind's events to
those who may view it, and the dashboard its pending starts. A kind nobody registered is
visible to superusers only.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subject:
    kind: str
    view_permission: str
    changelist: str = ""  # admin URL name of its records, e.g. "admin:crises_crisis_changelist"


_subjects: dict[str, Subject] = {}


def register(kind: str, *, view_permission: str, changelist: str = "") -> None:
    """Declare a kind of record and the permission that views it."""
    _subjects[kind] = Subject(kind, view_permission, changelist)


def get(kind: str) -> Subject | None:
    return _subjects.get(kind)


def readable_by(user: Any) -> list[Subject]:
    """Return the kinds of record `user` may view (every registered kind for superusers)."""
    return [subject for subject in _subjects.values() if user.has_perm(subject.view_permission)]
