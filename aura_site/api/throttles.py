"""Per-user request rates: one budget for writes, one for long-polls (429 past either).

Rates are read from the settings on every request (None turns a throttle off), so tests and
`override_settings` change them without reloading anything. Counts live in Django's default
cache: per process unless a shared cache is configured.
"""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

WAIT_ACTIONS = frozenset({"wait"})


class _SettingRateThrottle(UserRateThrottle):
    """A UserRateThrottle whose rate is the setting named by `setting`."""

    setting = ""

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting)

    def applies(self, request: Request, view) -> bool:
        raise NotImplementedError

    def allow_request(self, request: Request, view) -> bool:
        if not self.applies(request, view):
            return True
        return super().allow_request(request, view)


class WriteRateThrottle(_SettingRateThrottle):
    """Every POST, PUT, PATCH and DELETE of a user (or an anonymous client's address)."""

    scope = "write"
    setting = "AURA_THROTTLE_WRITES"

    def applies(self, request: Request, view) -> bool:
        return request.method not in SAFE_METHODS


class WaitRateThrottle(_SettingRateThrottle):
    """Every long-poll (a viewset action named in WAIT_ACTIONS) of a user."""

    scope = "wait"
    setting = "AURA_THROTTLE_WAITS"

    def applies(self, request: Request, view) -> bool:
        return getattr(view, "action", None) in WAIT_ACTIONS
