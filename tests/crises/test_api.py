"""REST /api/v1/crises/: trigger, validation, idempotency, wait, cancel, filters, permissions."""

import asyncio
import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from crises import services
from crises.models import Crisis, CrisisPhase
from tests.crises.conftest import SEED_ACTIONS

URL = "/api/v1/crises/"
SEED_MISSIONS = services.cli_missions("target-alpha", SEED_ACTIONS)


OPERATOR_PERMS = ("add_crisis", "change_crisis", "view_crisis")


def operator_client(username: str = "operator", perms=OPERATOR_PERMS):
    user = User.objects.create_user(username, password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="crises", codename__in=perms)
    )
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


@pytest.fixture
def api(db) -> APIClient:
    return operator_client()


def mission(**overrides):
    return {"phase_id": "p1", "agent_id": "a1", "action": "deploy", "target": "t", **overrides}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"target": "ab", "missions": [mission()]}, "target"),
        ({"missions": [mission()]}, "target"),
        ({"target": "x" * 201, "missions": [mission()]}, "target"),
        ({"target": "target-a", "missions": []}, "missions"),
        ({"target": "target-a"}, "missions"),
        ({"target": "target-a", "missions": [{"phase_id": "p1"}]}, "missions.0.agent_id"),
        ({"target": "target-a", "missions": [mission(action="")]}, "missions.0.action"),
        ({"target": "target-a", "missions": [mission(agent_id="a" * 101)]}, "missions.0.agent_id"),
        ({"target": "target-a", "missions": [mission(), mission()]}, "missions.1.phase_id"),
        ({"target": "target-a", "missions": [mission(priority=0)]}, "missions.0.priority"),
        ({"target": "target-a", "missions": [mission(priority="high")]}, "missions.0.priority"),
        ({"target": "target-a", "missions": [mission(priority=1.5)]}, "missions.0.priority"),
        (
            {
                "target": "target-a",
                "missions": [mission(phase_id=f"p{i}") for i in range(101)],
            },
            "missions",
        ),
    ],
)
def test_invalid_triggers_are_400_problems_and_store_nothing(api, payload, field) -> None:
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["type"].endswith("/invalid") and body["status"] == 400
    assert field in body["errors"], body
    assert not Crisis.objects.exists() and not CrisisPhase.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_trigger_then_wait_returns_the_seed_record(temporal_settings, crisis_worker) -> None:
    api = await sync_to_async(operator_client)()
    async with crisis_worker(temporal_settings):
        response = await sync_to_async(api.post)(
            URL, {"target": "target-alpha", "missions": SEED_MISSIONS}, format="json"
        )
        assert response.status_code == 201, response.content
        created = response.json()
        assert created["status"] in ("initiated", "running")
        assert created["initiated_by"] == "operator"
        waited = await sync_to_async(api.get)(f"{URL}{created['crisis_id']}/wait/?timeout=20")
    assert waited.status_code == 200
    record = waited.json()
    assert list(record)[:7] == [
        "crisis_id",
        "target",
        "status",
        "started_at",
        "completed_at",
        "phases",
        "summary",
    ]
    assert record["status"] == "completed"
    assert record["summary"] == {"completed_phases": 4, "failed_phases": 0, "total_phases": 4}
    assert [(p["phase_id"], p["status"]) for p in record["phases"]] == [
        (f"phase-{i}", "completed") for i in range(1, 5)
    ]
    for stamp in (record["started_at"], record["completed_at"], record["phases"][0]["timestamp"]):
        assert stamp.endswith("Z") and dt.datetime.fromisoformat(stamp)
    assert record["workflow_id"] == f"crisis-workflow-{record['crisis_id']}"
    assert record["temporal_ui_url"].endswith(f"/workflows/{record['workflow_id']}")
    by_workflow_id = await sync_to_async(api.get)(f"{URL}{record['workflow_id']}/")
    assert by_workflow_id.json() == record


@pytest.mark.django_db(transaction=True)
async def test_idempotency_key_gives_one_crisis_and_one_workflow(
    temporal_settings, crisis_settings, task_queue
) -> None:
    api = await sync_to_async(operator_client)()
    payload = {"target": "target-idem", "missions": SEED_MISSIONS[:1]}
    post = sync_to_async(api.post)
    first = await post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = await post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, second.status_code) == (201, 200)
    # The repeat reads the record back; the first answer showed it as written: the same.
    assert first.json()["start"]["state"] == "started"
    assert second.json() == first.json()
    assert await Crisis.objects.acount() == 1

    # No worker serves the queue: the one workflow is still there to count.
    query = f"TaskQueue = '{task_queue}'"
    for _ in range(50):
        if (await temporal_settings.count_workflows(query)).count:
            break
        await asyncio.sleep(0.1)
    assert (await temporal_settings.count_workflows(query)).count == 1

    different = await post(
        URL, {**payload, "target": "target-other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert different.status_code == 422
    assert "different request" in different.json()["detail"]
    await temporal_settings.get_workflow_handle(first.json()["workflow_id"]).terminate()


@pytest.mark.django_db(transaction=True)
async def test_wait_then_cancel_over_the_api(
    temporal_settings, crisis_worker, crisis_settings
) -> None:
    crisis_settings.CRISIS_AGENT_DISPATCHER = "scripted"
    crisis_settings.CRISIS_AGENT_SCRIPT = {"phase-1": {"delay": 60}}
    api = await sync_to_async(operator_client)()
    async with crisis_worker(temporal_settings):
        created = await sync_to_async(api.post)(
            URL, {"target": "target-beta", "missions": SEED_MISSIONS}, format="json"
        )
        url = f"{URL}{created.json()['crisis_id']}/"
        pending = await sync_to_async(api.get)(f"{url}wait/?timeout=0.5")
        assert pending.status_code == 202
        assert pending.json()["status"] == "running"

        cancel = await sync_to_async(api.post)(f"{url}cancel/")
        assert cancel.status_code == 202, cancel.content
        assert cancel.json()["cancel_requested_by"] == "user:operator"
        done = await sync_to_async(api.get)(f"{url}wait/?timeout=20")
    assert done.status_code == 200
    record = done.json()
    assert record["status"] == "cancelled"
    assert {p["status"] for p in record["phases"]} == {"skipped"}

    again = await sync_to_async(api.post)(f"{url}cancel/")
    assert again.status_code == 409
    assert again.json()["title"] == "Conflict"


def make_crisis(crisis_id: str, target: str, status: str, started_at, initiated_by="ops"):
    crisis = Crisis.objects.create(
        crisis_id=crisis_id,
        workflow_id=f"crisis-workflow-{crisis_id}",
        target=target,
        status=status,
        started_at=started_at,
        initiated_by=initiated_by,
    )
    CrisisPhase.objects.create(
        crisis=crisis, position=0, phase_id="p1", agent_id="a", action="x", target=target
    )
    return crisis


@pytest.mark.django_db
def test_list_filters_ordering_and_pagination(api) -> None:
    day = dt.datetime(2026, 1, 16, 10, 30, tzinfo=dt.UTC)
    make_crisis("crisis-a-1", "alpha", "completed", day, initiated_by="cli-user")
    make_crisis("crisis-b-2", "bravo", "failed", day + dt.timedelta(days=1))
    make_crisis("crisis-c-3", "charlie", "completed", day + dt.timedelta(days=2))

    def ids(query: str) -> list[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [item["crisis_id"] for item in response.json()["results"]]

    assert ids("") == ["crisis-c-3", "crisis-b-2", "crisis-a-1"]
    assert ids("status=completed") == ["crisis-c-3", "crisis-a-1"]
    assert ids("status=completed&status=failed&ordering=target") == [
        "crisis-a-1",
        "crisis-b-2",
        "crisis-c-3",
    ]
    assert ids("target=bravo") == ["crisis-b-2"]
    assert ids("initiated_by=cli-user") == ["crisis-a-1"]
    assert ids("date=2026-01-17") == ["crisis-b-2"]
    assert ids("started_after=2026-01-17T00:00:00Z") == ["crisis-c-3", "crisis-b-2"]
    assert ids("search=char") == ["crisis-c-3"]
    page = api.get(f"{URL}?limit=1&offset=1").json()
    assert page["count"] == 3 and [c["crisis_id"] for c in page["results"]] == ["crisis-b-2"]
    assert page["next"] and page["previous"]
    assert api.get(f"{URL}?status=bogus").status_code == 400


@pytest.mark.django_db
def test_permissions(api) -> None:
    make_crisis("crisis-a-1", "alpha", "running", dt.datetime.now(dt.UTC))
    anonymous = APIClient()
    assert anonymous.get(URL).status_code == 401
    assert anonymous.post(URL, {}, format="json").status_code == 401

    nobody = operator_client("nobody", perms=())
    for path in (URL, f"{URL}crisis-a-1/", f"{URL}crisis-a-1/wait/?timeout=0"):
        assert nobody.get(path).status_code == 403

    viewer = operator_client("viewer", perms=("view_crisis",))
    assert viewer.get(URL).status_code == 200
    assert viewer.get(f"{URL}crisis-a-1/").status_code == 200
    forbidden = viewer.post(URL, {"target": "target-a", "missions": [mission()]}, format="json")
    assert forbidden.status_code == 403
    assert forbidden.json()["status"] == 403
    assert viewer.post(f"{URL}crisis-a-1/cancel/").status_code == 403
    trigger_only = operator_client("trigger-only", perms=("add_crisis",))
    assert trigger_only.post(f"{URL}crisis-a-1/cancel/").status_code == 403
    assert Crisis.objects.get().status == "running"


@pytest.mark.django_db
def test_unknown_crisis_and_bad_wait_timeout(api) -> None:
    missing = api.get(f"{URL}crisis-nope-1/")
    assert missing.status_code == 404
    assert "crisis-nope-1" in missing.json()["detail"]
    make_crisis("crisis-a-1", "alpha", "completed", dt.datetime.now(dt.UTC))
    bad = api.get(f"{URL}crisis-a-1/wait/?timeout=61")
    assert bad.status_code == 400 and "timeout" in bad.json()["errors"]
    assert api.get(f"{URL}crisis-a-1/wait/?timeout=0").status_code == 200
