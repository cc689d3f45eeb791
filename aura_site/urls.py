from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from aura_site.api.codec import DecodeView, EncodeView

api_v1 = [
    path("", include("audit.api.urls")),
    path("", include("crises.api.urls")),
    path("", include("epochs.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so the
    # Content-Security-Policy needs no exception for it.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

admin.site.site_header = "Aura administration"
admin.site.site_title = "Aura"
admin.site.index_title = "Crises, epochs and the audit trail"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The Temporal UI's codec server: it posts to `<endpoint>/encode` and `<endpoint>/decode`.
    path("codec/encode", EncodeView.as_view(), name="codec-encode"),
    path("codec/decode", DecodeView.as_view(), name="codec-decode"),
]

handler400 = "aura_site.api.views.bad_request"
handler404 = "aura_site.api.views.page_not_found"
handler500 = "aura_site.api.views.server_error"
