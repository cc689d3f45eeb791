"""The body of an operator action: the reason, recorded in the audit trail with the actor."""

from rest_framework import serializers

from aura_site.api.fields import TextField
from aura_site.text import REASON_MAX_LENGTH


class ReasonSerializer(serializers.Serializer):
    """An optional reason (cancel, re-run)."""

    reason = TextField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why; kept in the audit trail with the acting user.",
    )


class RequiredReasonSerializer(serializers.Serializer):
    """A reason that must be given (terminate)."""

    reason = TextField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why; kept in the audit trail with the acting user.",
    )


def reason_from(request_data: object, *, required: bool = False) -> str:
    """Return the validated reason of an action's body (a 400 problem when it is invalid)."""
    serializer = (RequiredReasonSerializer if required else ReasonSerializer)(data=request_data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("reason", "")
