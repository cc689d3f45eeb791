"""Token authentication with its lookup compiled once per process.

Every API request by token paid for the ORM building and compiling the same `Token` query
with its user (select_related) before running it: about as much CPU as a list page's rows.
"""

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from aura_site.api.rows import PreparedRows


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication: the same header, answers and errors, a cheaper lookup."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        rows = _token_rows()
        found = rows.fetch([key])
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        ((user_id, created, *user_values),) = found
        user = get_user_model().from_db(rows.using, _user_fields(), user_values)
        token = Token.from_db(rows.using, ["key", "user_id", "created"], [key, user_id, created])
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, token)


@cache
def _user_fields() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


@cache
def _token_rows() -> PreparedRows:
    """The token's user and creation time, and its user's columns, by key."""
    columns = ["user_id", "created", *(f"user__{name}" for name in _user_fields())]
    return PreparedRows(Token, columns, key="key", order_by=())
