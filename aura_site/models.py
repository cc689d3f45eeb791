"""Site-wide models: API tokens as the admin shows them, and permissions of no domain model."""

from django.db import models
from rest_framework.authtoken.models import TokenProxy


class ApiToken(TokenProxy):
    """A user's API token. Its name is its owner's, so no page, breadcrumb or admin log entry
    repeats the key (DRF's Token prints as its key)."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user}"

    @property
    def masked_key(self) -> str:
        """Return enough of the key to tell two tokens apart, and no more."""
        return f"{self.key[:4]}…" if self.key else ""


class PayloadCodecAccess(models.Model):
    """Holds no rows and has no table: it only carries the codec endpoint's permission.

    Decoding shows every workflow's inputs and results in clear text, so it is a right of its
    own rather than a side effect of viewing crises or epochs.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("use_payload_codec", "Can encode and decode Temporal payloads (codec endpoint)")
        ]
