"""The wait slots' bookkeeping (aura_site/runs/waits.py): slots of waits that died come back."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from aura_site.errors import TooManyOpenWaits
from aura_site.runs.models import OpenWait
from aura_site.runs.waits import open_wait


@pytest.mark.django_db
@override_settings(AURA_MAX_OPEN_WAITS=2)
def test_expired_slots_are_freed_and_live_ones_count() -> None:
    user = User.objects.create_user("waiter")
    now = timezone.now()
    for ago in (120, 60):  # two waits of a process killed mid-wait, long past their ends
        OpenWait.objects.create(
            user=user, workflow_id=f"dead-{ago}", expires_at=now - timedelta(seconds=ago)
        )
    live = OpenWait.objects.create(
        user=user, workflow_id="live", expires_at=now + timedelta(seconds=30)
    )
    taken = open_wait(user, workflow_id="new", timeout=10)
    assert set(OpenWait.objects.filter(user=user)) == {live, taken}
    with pytest.raises(TooManyOpenWaits):  # the two live ones fill the cap of 2
        open_wait(user, workflow_id="one-more", timeout=10)
