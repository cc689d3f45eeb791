"""Site-wide permissions that belong to no domain model."""

from django.db import models


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
