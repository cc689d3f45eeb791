"""The admin site whose index is the operator dashboard, the model list kept beside it."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from aura_site.dashboard.panels import visible_panels


class AuraAdminSite(admin.AdminSite):
    """Django's admin site, with the dashboard panels the user may see on its index."""

    site_header = "Aura administration"
    site_title = "Aura"
    index_title = "Dashboard"
    index_template = "admin/dashboard/index.html"

    def index(self, request: HttpRequest, extra_context=None) -> TemplateResponse:
        context = {"panels": visible_panels(request), **(extra_context or {})}
        return super().index(request, extra_context=context)
