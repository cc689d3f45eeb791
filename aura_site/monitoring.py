"""The operator endpoints outside /api/: `/metrics`, `/healthz` and `/readyz`.

None needs a session. `/metrics` is limited by address (`AURA_METRICS_ALLOW`) and, when
`AURA_METRICS_TOKEN` is set, by a bearer token; the probes answer anyone and name no address
or credential.
"""

import hmac
import ipaddress

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from aura_site import health, metrics


def metrics_allowed(request: HttpRequest) -> bool:
    """Return whether the request comes from an allowed address and bears the token, if any.

    The address is the socket's (`REMOTE_ADDR`): behind a proxy that is the proxy's, so set a
    token there.
    """
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if not any(address in network for network in settings.AURA_METRICS_ALLOW):
        return False
    token = settings.AURA_METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the Prometheus scrape."""
    if not metrics_allowed(request):
        return HttpResponse(
            "Forbidden: not an allowed address, or a missing or wrong bearer token.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    try:
        body = metrics.scrape()
    except DatabaseError:
        # No numbers rather than wrong ones: Prometheus records the failed scrape (`up` 0).
        return HttpResponse(
            "Unavailable: the database cannot be read.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process serves requests: the liveness probe."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database, its migrations and Temporal are fine, else 503."""
    ready, checks = health.readiness()
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
