"""One permission rule for every viewset: each action names the model permissions it needs."""

from rest_framework import permissions
from rest_framework.request import Request

# Answered without touching any record: an unsupported method (405) and OPTIONS metadata.
_OPEN_ACTIONS = frozenset({None, "metadata"})


class ActionPermissions(permissions.BasePermission):
    """Allow an authenticated user holding every permission the view's `action_permissions`
    lists for the action. An action missing from the map is refused, so a new endpoint is
    closed until someone decides who may use it.
    """

    def has_permission(self, request: Request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action in _OPEN_ACTIONS:
            return True
        required = view.action_permissions.get(action)
        return required is not None and request.user.has_perms(required)
