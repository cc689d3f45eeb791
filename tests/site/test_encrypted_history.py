"""With AURA_PAYLOAD_KEYS set, Temporal stores only ciphertext, and everything still works.

A real `manage.py runworker` and the app's own client (both built by aura_site.temporal.connect)
run a crisis and an epoch; the history is then read raw, through a client without the codec.
The keys are then rotated (a new key first, the old one kept) and a second worker carries on
the same epoch: it replays history written under the old key and writes under the new one.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from google.protobuf.message import Message
from rest_framework.test import APIClient
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from aura_site import temporal
from aura_site.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadDecryptionError
from aura_site.payload_keys import new_key_text, parse_payload_keys
from tests.conftest import database_url, server_address

ROOT = Path(__file__).resolve().parents[2]
OLD = f"old:{new_key_text()}"
NEW = f"new:{new_key_text()}"
TARGET = "target-vesper"
SECRET_ACTION = "exfiltrate-ledger-9f3a"
SECRET_REQUEST = "rotate the vault credentials of project nightjar"


# Written by the SDK's core, not by the data converter: for each local activity its id, type,
# attempt and times (no input or result); for each `workflow.patched` the patch id. The secrets
# check covers them.
CORE_MARKERS = {
    "marker_recorded_event_attributes.details.data.payloads",
    "marker_recorded_event_attributes.details.patch-data.payloads",
}


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Yield (field path, payload) for every Payload inside `message`, except search
    attributes (the server indexes them, so it must read them)."""
    for field, value in message.ListFields():
        if field.message_type is None or field.name == "search_attributes":
            continue
        name = f"{path}.{field.name}" if path else field.name
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is None:
                continue
            items = [(f"{name}.{key}", item) for key, item in value.items()]
        elif field.is_repeated:
            items = [(name, item) for item in value]
        else:
            items = [(name, value)]
        for item_path, item in items:
            if isinstance(item, Payload):
                yield item_path, item
            else:
                yield from payloads_in(item, item_path)


async def raw_history(client: Client, workflow_id: str) -> tuple[list[Payload], bytes]:
    """Return the payloads of a workflow's history as the server stores them, and its bytes."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    payloads = [
        payload
        for event in history.events
        for path, payload in payloads_in(event)
        if path not in CORE_MARKERS
    ]
    return payloads, b"".join(event.SerializeToString() for event in history.events)


@contextmanager
def runworker(temporal_client: Client, keys: str, queues: dict[str, str], log: Path):
    """Run `manage.py runworker` with `keys` until the block ends."""
    env = {
        **os.environ,
        "AURA_PAYLOAD_KEYS": keys,
        "CRISIS_TASK_QUEUE": queues["crisis"],
        "TEMPORAL_TASK_QUEUE": queues["epoch"],
        "TEMPORAL_NAMESPACE": temporal_client.namespace,
        "DATABASE_URL": database_url(),
        "CRISIS_AGENT_DISPATCHER": "log",
    }
    argv = [sys.executable, "manage.py", "runworker", "--no-reconciler"]
    argv += ["--server-address", server_address(temporal_client)]
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("Worker running:") < 2:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def use_keys(settings: Any, keys: str) -> None:
    """Give the app's own client (views, services) these keys, as the environment would."""
    settings.AURA_PAYLOAD_KEYS = parse_payload_keys(keys)
    temporal.set_client(None)  # the next call connects with the new converter


@pytest.fixture
def api(temporal_env: Any, settings: Any, tmp_path: Path) -> Iterator[APIClient]:
    settings.TEMPORAL_ADDRESS = server_address(temporal_env.client)
    settings.TEMPORAL_NAMESPACE = temporal_env.client.namespace
    settings.CRISIS_TASK_QUEUE = f"crisis-{tmp_path.name}"
    settings.TEMPORAL_TASK_QUEUE = f"epoch-{tmp_path.name}"
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("ops", password="pw"))
    yield client
    temporal.set_client(None)


def wait_until(check, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


@pytest.mark.django_db(transaction=True)
def test_history_is_ciphertext_and_survives_key_rotation(
    api: APIClient, temporal_env: Any, settings: Any, tmp_path: Path
) -> None:
    raw_client = temporal_env.client  # no codec: sees what the server stores
    queues = {"crisis": settings.CRISIS_TASK_QUEUE, "epoch": settings.TEMPORAL_TASK_QUEUE}
    use_keys(settings, OLD)
    with runworker(raw_client, OLD, queues, tmp_path / "worker-old.log"):
        missions = [
            {
                "phase_id": "phase-1",
                "agent_id": "agent-7",
                "action": SECRET_ACTION,
                "target": TARGET,
            }
        ]
        started = api.post("/api/v1/crises/", {"target": TARGET, "missions": missions})
        assert started.status_code == 201, started.json()
        crisis_id, workflow_id = started.json()["crisis_id"], started.json()["workflow_id"]
        waited = api.get(f"/api/v1/crises/{crisis_id}/wait/?timeout=20")
        assert waited.status_code == 200, waited.json()
        assert waited.json()["status"] == "completed"
        assert waited.json()["phases"][0]["status"] == "completed"

        epoch = api.post("/api/v1/epochs/", {"request_description": SECRET_REQUEST})
        assert epoch.status_code == 201, epoch.json()
        epoch_id = epoch.json()["epoch_id"]
        # A refused move travels back as an encrypted failure and is still read out.
        refused = api.post(f"/api/v1/epochs/{epoch_id}/advance/", {"to_phase": "p4"})
        assert refused.status_code == 409
        assert "is not in the transition table" in refused.json()["violations"][0]
        moved = api.post(f"/api/v1/epochs/{epoch_id}/advance/", {"to_phase": "p2"})
        assert moved.status_code == 200, moved.json()
        assert moved.json()["live"]["current_phase"] == "p2"

    old_codec = EncryptionCodec(parse_payload_keys(OLD))
    for run_id, secrets in [
        (workflow_id, [SECRET_ACTION.encode(), b"agent-7"]),
        (epoch_id, [SECRET_REQUEST.encode()]),
    ]:
        payloads, stored = run_sync_history(raw_client, run_id)
        assert len(payloads) >= 3
        for payload in payloads:
            assert payload.metadata["encoding"] == ENCODING, (run_id, payload)
            assert payload.metadata[KEY_ID] == b"old"
        for secret in secrets:
            assert secret not in stored
        # The same bytes decrypt to the plain JSON the workflow saw.
        clear = b"".join(old_codec.decrypt(p).SerializeToString() for p in payloads)
        assert all(secret in clear for secret in secrets)

    # Rotation: the new key encrypts, the old one still decrypts.
    rotated = f"{NEW},{OLD}"
    use_keys(settings, rotated)
    with runworker(raw_client, rotated, queues, tmp_path / "worker-new.log"):
        detail = api.get(f"/api/v1/crises/{crisis_id}/")
        assert detail.status_code == 200 and detail.json()["status"] == "completed"
        # A fresh worker replays the epoch's old-key history before it can take this move.
        moved = api.post(f"/api/v1/epochs/{epoch_id}/advance/", {"to_phase": "p3"})
        assert moved.status_code == 200, moved.json()
        live = wait_until(lambda: api.get(f"/api/v1/epochs/{epoch_id}/").json()["live"])
        assert live["current_phase"] == "p3"

    payloads, stored = run_sync_history(raw_client, epoch_id)
    assert {p.metadata[KEY_ID] for p in payloads} == {b"old", b"new"}
    assert SECRET_REQUEST.encode() not in stored
    both = EncryptionCodec(parse_payload_keys(rotated))
    clear = [both.decrypt(p) for p in payloads]
    assert {p.metadata["encoding"] for p in clear} <= {b"json/plain", b"binary/null"}
    assert any(SECRET_REQUEST.encode() in p.data for p in clear)
    # Without the old key, its payloads fail by name rather than as garbage.
    new_only = EncryptionCodec(parse_payload_keys(NEW))
    old_payload = next(p for p in payloads if p.metadata[KEY_ID] == b"old")
    with pytest.raises(PayloadDecryptionError, match="key id 'old'"):
        new_only.decrypt(old_payload)


def run_sync_history(client: Client, workflow_id: str) -> tuple[list[Payload], bytes]:
    return temporal.run_sync(raw_history(client, workflow_id))
