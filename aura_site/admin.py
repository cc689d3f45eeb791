"""The API token admin: a key is shown once, to whoever created it, and masked afterwards."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from aura_site.models import ApiToken

admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(TokenAdmin):
    list_display = ("masked_key", "user", "created")

    @admin.display(description="key")
    def masked_key(self, token: ApiToken) -> str:
        return token.masked_key

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue=None):
        """Show the new key on this one page; it is kept nowhere else the admin can show.

        A message would travel in a cookie or the session, so the key is rendered directly.
        """
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": obj,
        }
        return TemplateResponse(request, "admin/aura_site/apitoken/created.html", context)
