"""The app's URLs plus a sync view that sleeps: do sync views still run side by side?"""

import time

from django.http import HttpRequest, HttpResponse
from django.urls import path

from aura_site.urls import handler400, handler404, handler500  # noqa: F401
from aura_site.urls import urlpatterns as site_urlpatterns


def sleep(request: HttpRequest) -> HttpResponse:
    time.sleep(min(float(request.GET.get("seconds", "1")), 5))
    return HttpResponse("slept", content_type="text/plain")


urlpatterns = [path("test/sleep/", sleep), *site_urlpatterns]
