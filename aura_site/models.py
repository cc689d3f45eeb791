"""API tokens as the admin shows them: never by their key."""

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
