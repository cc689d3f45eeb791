"""The long-poll `GET /api/v1/crises/{id}/wait/` as an async view: its answers and the cap.

Requests go through Django's async handler (AsyncClient), as under the ASGI server, against
the real PostgreSQL and Temporal dev server. tests/site/test_asgi_server.py runs the server.
"""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from aura_site import temporal
from aura_site.runs.models import OpenWait
from crises import services
from crises.models import Crisis
from tests.conftest import free_port, user_with
from tests.crises.conftest import SEED_ACTIONS

URL = "/api/v1/crises/"
MISSIONS = services.cli_missions("target-alpha", SEED_ACTIONS)

pytestmark = pytest.mark.django_db(transaction=True)


class TokenClient(AsyncClient):
    """An async client sending the token of a new user who may view crises (and no more)."""

    def __init__(self, username: str, *permissions: str) -> None:
        super().__init__()
        user = user_with(username, *(permissions or ("crises.view_crisis",)))
        token = Token.objects.create(user=user)
        self.auth = {"Authorization": f"Token {token.key}"}

    def get(self, path: str, **kwargs):
        return super().get(path, headers=self.auth, **kwargs)

    def post(self, path: str, **kwargs):
        return super().post(path, headers=self.auth, **kwargs)

    def options(self, path: str, **kwargs):
        return super().options(path, headers=self.auth, **kwargs)


def running_crisis(target: str = "target-alpha") -> str:
    """Start a crisis no worker serves: it runs until terminated. Return its crisis id."""
    trigger = services.trigger_crisis(target=target, missions=MISSIONS, initiated_by="pytest")
    return trigger.record.crisis_id


async def open_waits(count: int, *, timeout: float = 10) -> None:
    """Return once exactly `count` waits hold a slot."""
    deadline = time.monotonic() + timeout
    while await OpenWait.objects.acount() != count:
        assert time.monotonic() < deadline, await OpenWait.objects.acount()
        await asyncio.sleep(0.05)


async def test_the_wait_answers_200_when_the_crisis_ends_mid_wait(
    temporal_settings, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"phase-1": {"delay": 1.5}}
    api = await sync_to_async(TokenClient)("watcher")
    async with crisis_worker(temporal_settings):
        crisis_id = await sync_to_async(running_crisis)()
        before = await api.get(f"{URL}{crisis_id}/wait/?timeout=0")
        assert before.status_code == 202 and before.json()["status"] in ("initiated", "running")
        started = time.monotonic()
        done = await api.get(f"{URL}{crisis_id}/wait/?timeout=20")
        took = time.monotonic() - started
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "completed"
    assert done.json()["summary"]["completed_phases"] == 4
    assert took < 15  # it answered when the crisis ended, not at the timeout
    assert await OpenWait.objects.acount() == 0


async def test_past_the_cap_a_wait_is_429_and_a_closed_wait_frees_its_slot(
    temporal_settings, crisis_settings, settings
) -> None:
    settings.AURA_MAX_OPEN_WAITS = 2
    crisis_id = await sync_to_async(running_crisis)()
    url = f"{URL}{crisis_id}/wait/"
    api = await sync_to_async(TokenClient)("poller")
    first = asyncio.create_task(api.get(f"{url}?timeout=20"))
    second = asyncio.create_task(api.get(f"{url}?timeout=3"))
    await open_waits(2)

    refused = await api.get(f"{url}?timeout=5")
    assert refused.status_code == 429, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "https://aura.invalid/problems/too-many-open-waits"
    assert body["status"] == 429 and body["limit"] == 2
    # The 3-second wait ends first, and no later than Retry-After says.
    assert 1 <= int(refused["Retry-After"]) <= 3
    # A wait that answers nothing but the record holds no slot.
    assert (await api.get(f"{url}?timeout=0")).status_code == 202
    # Another user has slots of their own.
    other = await sync_to_async(TokenClient)("other")
    assert (await other.get(f"{url}?timeout=0.2")).status_code == 202

    # A wait that timed out gives its slot back...
    assert (await second).status_code == 202
    await open_waits(1)
    third = asyncio.create_task(api.get(f"{url}?timeout=20"))
    await open_waits(2)
    # ...and so does one whose client went away (Django cancels the view).
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await open_waits(1)
    assert (await api.get(f"{url}?timeout=0.2")).status_code == 202
    third.cancel()
    await open_waits(0)
    await temporal_settings.get_workflow_handle(f"crisis-workflow-{crisis_id}").terminate()


async def test_a_wait_that_cannot_reach_temporal_frees_its_slot(
    temporal_settings, crisis_settings, settings
) -> None:
    crisis_id = await sync_to_async(running_crisis)()
    api = await sync_to_async(TokenClient)("unlucky")
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    temporal.set_client(None)
    started = time.monotonic()
    response = await api.get(f"{URL}{crisis_id}/wait/?timeout=20")
    assert response.status_code == 202, response.content
    assert response.json()["status"] in ("initiated", "running")
    assert time.monotonic() - started < 15
    assert await OpenWait.objects.acount() == 0
    await temporal_settings.get_workflow_handle(f"crisis-workflow-{crisis_id}").terminate()


async def test_a_crisis_deleted_while_waited_for_is_a_404(
    temporal_settings, crisis_settings
) -> None:
    crisis_id = await sync_to_async(running_crisis)()
    api = await sync_to_async(TokenClient)("patient")
    wait = asyncio.ensure_future(api.get(f"{URL}{crisis_id}/wait/?timeout=4"))
    await open_waits(1)
    await Crisis.objects.filter(crisis_id=crisis_id).adelete()
    response = await wait
    assert response.status_code == 404, response.content
    assert response.headers["Content-Type"] == "application/problem+json"
    assert await OpenWait.objects.acount() == 0
    await temporal_settings.get_workflow_handle(f"crisis-workflow-{crisis_id}").terminate()


async def test_the_wait_keeps_its_errors_and_its_throttle(
    temporal_settings, crisis_settings, settings
) -> None:
    api = await sync_to_async(TokenClient)("careless")
    missing = await api.get(f"{URL}nope/wait/?timeout=1")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    crisis_id = await sync_to_async(running_crisis)()
    bad = await api.get(f"{URL}{crisis_id}/wait/?timeout=61")
    assert bad.status_code == 400 and "timeout" in bad.json()["errors"]
    assert (await AsyncClient().get(f"{URL}{crisis_id}/wait/")).status_code == 401
    stranger = await sync_to_async(TokenClient)("stranger", "crises.add_crisis")
    forbidden = await stranger.get(f"{URL}{crisis_id}/wait/?timeout=1")
    assert forbidden.status_code == 403 and await OpenWait.objects.acount() == 0
    assert (await api.post(f"{URL}{crisis_id}/wait/")).status_code == 405
    described = await api.options(f"{URL}{crisis_id}/wait/")
    assert described.status_code == 200 and described.json()["name"] == "Crisis Wait"
    settings.AURA_THROTTLE_WAITS = "1/min"
    await sync_to_async(cache.clear)()
    assert (await api.get(f"{URL}{crisis_id}/wait/?timeout=0")).status_code == 202
    throttled = await api.get(f"{URL}{crisis_id}/wait/?timeout=0")
    assert throttled.status_code == 429
    assert throttled.json()["type"] == "https://aura.invalid/problems/throttled"
    assert await OpenWait.objects.acount() == 0
    await temporal_settings.get_workflow_handle(f"crisis-workflow-{crisis_id}").terminate()
