"""The epochs REST API: every action against a real worker, and every error class."""

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from audit.models import AuditEvent as AuditRow
from epochs.inputs import PhaseAdvanceSignal
from epochs.models import Epoch
from epochs.workflows import EpochWorkflow

PERMISSIONS = [
    "view_epoch",
    "add_epoch",
    "advance_epoch",
    "vote_epoch",
    "record_blocker",
    "submit_slice",
    "register_session",
]
URL = "/api/v1/epochs/"


def make_client(username: str = "ops", permissions: list[str] = PERMISSIONS) -> APIClient:
    user = User.objects.create_user(username, password="pw")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="epochs", codename__in=permissions)
    )
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))  # fresh permission cache
    return client


# --- without a worker: validation, permissions, lookups, listing ----------------------------


@pytest.mark.django_db
class TestWithoutWorker:
    @pytest.fixture
    def api(self) -> APIClient:
        return make_client()

    @pytest.fixture
    def epoch(self) -> Epoch:
        return Epoch.objects.create(epoch_id="epoch-a", request_description="add login")

    def test_anonymous_requests_are_unauthorised(self) -> None:
        response = APIClient().get(URL)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"

    @pytest.mark.parametrize(
        ("method", "path", "permission"),
        [
            ("get", "", "view_epoch"),
            ("post", "", "add_epoch"),
            ("post", "epoch-a/advance/", "advance_epoch"),
            ("post", "epoch-a/votes/", "vote_epoch"),
            ("post", "epoch-a/blockers/", "record_blocker"),
            ("post", "epoch-a/slices/", "submit_slice"),
            ("post", "epoch-a/sessions/", "register_session"),
            ("get", "epoch-a/history/", "view_epoch"),
            ("get", "epoch-a/audit-events/", "view_epoch"),
        ],
    )
    def test_each_action_needs_its_permission(self, epoch, method, path, permission) -> None:
        others = [p for p in PERMISSIONS if p != permission]
        response = getattr(make_client("limited", others), method)(URL + path, {})
        assert response.status_code == 403
        assert response.json()["status"] == 403

    @pytest.mark.parametrize(
        "path", ["nope/", "nope/history/", "nope/audit-events/", "nope/advance/"]
    )
    def test_unknown_epochs_are_404(self, api, path) -> None:
        method = api.post if path.endswith("advance/") else api.get
        response = method(URL + path, {"to_phase": "p2"})
        assert response.status_code == 404
        assert response.json()["title"] == "Not Found"

    @pytest.mark.parametrize(
        ("path", "body", "field", "message"),
        [
            ("advance/", {"to_phase": "p99"}, "to_phase", "'p99' is not a valid phase."),
            ("advance/", {}, "to_phase", "This field is required."),
            ("votes/", {"axis": "A", "vote": "ACCEPT"}, "axis", '"A" is not a valid choice.'),
            ("votes/", {"axis": "elegance", "vote": "MAYBE"}, "vote", "'MAYBE' is not a valid"),
            ("blockers/", {"blocker_id": "b 1"}, "blocker_id", "does not match"),
            ("blockers/", {"blocker_id": "b1", "severity": "HUGE"}, "severity", "not a valid"),
            ("slices/", {"slice_id": "s1", "mode": "subprocess"}, "command", "needs a command"),
            ("slices/", {"slice_id": "s1", "mode": "ssh"}, "mode", "not a valid choice"),
            ("sessions/", {"session_id": "x", "role": "boss"}, "role", "not a valid choice"),
        ],
    )
    def test_malformed_input_is_400(self, api, epoch, path, body, field, message) -> None:
        response = api.post(f"{URL}epoch-a/{path}", body, format="json")
        assert response.status_code == 400
        problem = response.json()
        assert problem["type"].endswith("/invalid")
        assert message in problem["errors"][field][0]

    def test_start_validates_its_input(self, api) -> None:
        response = api.post(URL, {"epoch_id": "bad id!", "request_description": ""})
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"epoch_id", "request_description"}

    def test_command_slices_need_the_setting_and_the_permission(
        self, api, epoch, settings
    ) -> None:
        body = {"slice_id": "s1", "mode": "subprocess", "command": "make test"}
        settings.AURA_ALLOW_SLICE_COMMANDS = False
        response = api.post(f"{URL}epoch-a/slices/", body, format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == (
            "Slice commands are disabled on this server; ask an operator to allow them."
        )
        settings.AURA_ALLOW_SLICE_COMMANDS = True
        response = api.post(f"{URL}epoch-a/slices/", body, format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == "You may not submit slices that run commands."

    def test_list_filters_and_search(self, api) -> None:
        Epoch.objects.create(epoch_id="e-1", request_description="payments", current_phase="p4")
        Epoch.objects.create(
            epoch_id="e-2",
            request_description="search box",
            current_phase="p9",
            domain="impl",
            status="complete",
        )

        def ids(query: str) -> list[str]:
            response = api.get(URL + query)
            assert response.status_code == 200, response.json()
            return sorted(row["epoch_id"] for row in response.json()["results"])

        assert ids("") == ["e-1", "e-2"]
        assert ids("?phase=review") == ["e-1"]
        assert ids("?phase=9") == ["e-2"]
        assert ids("?status=complete") == ["e-2"]
        assert ids("?domain=impl") == ["e-2"]
        assert ids("?search=payments") == ["e-1"]
        response = api.get(URL + "?phase=p13")
        assert response.status_code == 400
        assert "is not a valid phase" in response.json()["errors"]["phase"][0]

    def test_detail_of_a_closed_epoch_comes_from_the_database(self, api) -> None:
        Epoch.objects.create(epoch_id="e-done", current_phase="complete", status="complete")
        body = api.get(URL + "e-done/").json()
        assert (body["current_phase"], body["status"], body["live"]) == (
            "complete",
            "complete",
            None,
        )


# --- with a real worker ---------------------------------------------------------------------


@pytest.fixture
def configured(temporal_settings, settings, task_queue) -> Any:
    settings.TEMPORAL_TASK_QUEUE = task_queue
    return temporal_settings


def call(client: APIClient, method: str, path: str, body: dict | None = None, **extra):
    """Run a sync API request off the event loop the worker runs on."""
    return sync_to_async(getattr(client, method))(URL + path, body, format="json", **extra)


@pytest.mark.django_db(transaction=True)
async def test_every_action_through_the_api(configured, epoch_worker, task_queue) -> None:
    api = await sync_to_async(make_client)()
    async with epoch_worker(configured, task_queue):
        started = await call(
            api, "post", "", {"request_description": "dark mode"}, HTTP_IDEMPOTENCY_KEY="k-1"
        )
        assert started.status_code == 201, started.json()
        epoch_id = started.json()["epoch_id"]
        assert started.json()["started_by"] == "ops"
        again = await call(
            api, "post", "", {"request_description": "dark mode"}, HTTP_IDEMPOTENCY_KEY="k-1"
        )
        assert (again.status_code, again.json()["epoch_id"]) == (200, epoch_id)
        taken = await call(api, "post", "", {"epoch_id": epoch_id, "request_description": "x"})
        assert taken.status_code == 409

        detail = (await call(api, "get", f"{epoch_id}/")).json()
        assert detail["live"]["current_phase"] == "p1"
        assert detail["live"]["available_transitions"] == [
            {
                "to_phase": "p2",
                "condition": "classification confirmed, research and explore complete",
                "action": None,
            }
        ]

        refused = await call(api, "post", f"{epoch_id}/advance/", {"to_phase": "p4"})
        assert refused.status_code == 409
        problem = refused.json()
        violation = (
            "Transition <PhaseId.P1_Request: 'p1'> → <PhaseId.P4_Review: 'p4'> is not in the "
            "transition table. Valid targets: ['p2']"
        )
        assert problem["violations"] == [violation]
        assert problem["errors"] == {"to_phase": [violation]}
        assert problem["detail"] == violation

        for spelling in ["2", "propose", "p4-review"]:
            moved = await call(api, "post", f"{epoch_id}/advance/", {"to_phase": spelling})
            assert moved.status_code == 200, moved.json()
        outside = await call(
            api, "post", f"{epoch_id}/blockers/", {"blocker_id": "b-1", "resolved": True}
        )
        assert outside.json()["violations"] == ["Finding 'b-1' is not open."]
        for axis in ["correctness", "test_quality"]:
            voted = await call(api, "post", f"{epoch_id}/votes/", {"axis": axis, "vote": "accept"})
            assert voted.status_code == 200
        gated = await call(api, "post", f"{epoch_id}/advance/", {"to_phase": "p5"})
        assert gated.status_code == 409
        assert gated.json()["violations"][0].startswith("Consensus required for")
        voted = await call(
            api, "post", f"{epoch_id}/votes/", {"axis": "elegance", "vote": "ACCEPT"}
        )
        assert voted.json()["live"]["votes"] == {
            "correctness": "ACCEPT",
            "test_quality": "ACCEPT",
            "elegance": "ACCEPT",
        }
        assert [v["reviewer_id"] for v in voted.json()["votes"]] == ["user:ops"] * 3
        assert [v["actor"] for v in voted.json()["votes"]] == ["user:ops"] * 3
        for phase in ["p5", "p6", "p7", "p8"]:
            await call(api, "post", f"{epoch_id}/advance/", {"to_phase": phase})
        sliced = await call(api, "post", f"{epoch_id}/slices/", {"slice_id": "s-1"})
        assert sliced.status_code == 200
        assert sliced.json()["slices"][0]["status"] == "pending"
        session = await call(
            api,
            "post",
            f"{epoch_id}/sessions/",
            {"session_id": "sess-1", "role": "supervisor", "model": "opus"},
        )
        assert session.json()["sessions"][0]["role"] == "supervisor"
        await call(api, "post", f"{epoch_id}/advance/", {"to_phase": "p9"})
        # A refused signal (not an update) still lands in the history.
        handle = configured.get_workflow_handle(epoch_id)
        await handle.signal(EpochWorkflow.advance_phase, PhaseAdvanceSignal("p12", "cli", ""))
        await call(api, "post", f"{epoch_id}/sessions/", {"session_id": "sync", "role": "worker"})

        history = (await call(api, "get", f"{epoch_id}/history/")).json()
        assert [(h["to_phase"], h["success"]) for h in history["results"]][-2:] == [
            ("p9", True),
            ("p12", False),
        ]
        assert history["results"][0]["triggered_by"] == "user:ops"
        # Advances the workflow refused before taking them are in the history too.
        refusals = [h for h in history["results"] if not h["success"]]
        assert [(h["to_phase"], h["index"]) for h in refusals[:2]] == [("p4", None), ("p5", None)]
        assert refusals[0]["error"] == violation
        assert refusals[1]["error"].startswith("Consensus required for")
        assert {h["actor"] for h in refusals[:2]} == {"user:ops"}
        assert refusals[2]["to_phase"] == "p12" and refusals[2]["index"] is not None
        assert refusals[2]["actor"] == ""  # a raw signal: nobody authenticated
        # A mock slice waits a moment for an agent's own report before it succeeds.
        for _ in range(100):
            detail = (await call(api, "get", f"{epoch_id}/")).json()
            if detail["slices"][0]["status"] != "running":
                break
            await asyncio.sleep(0.05)
        assert detail["slices"][0]["status"] == "succeeded"
        assert detail["live"]["slices"] == {"s-1": "succeeded"}

        audit = (await call(api, "get", f"{epoch_id}/audit-events/?limit=200")).json()
        by_type: dict[str, list[dict]] = {}
        for event in audit["results"]:
            by_type.setdefault(event["event_type"], []).append(event)
        assert by_type["epoch_started"][0]["actor"] == "user:ops"
        assert [e["payload"]["accepted"] for e in by_type["advance_requested"]][:2] == [
            False,
            True,
        ]
        assert by_type["advance_requested"][0]["actor"] == "user:ops"
        assert by_type["phase_transition"][0]["actor"].startswith("worker:")
        assert len(by_type["vote_recorded"]) == 3
        assert {"constraint_check", "slice_finished", "session_registered"} <= set(by_type)
        await handle.terminate()


@pytest.mark.django_db(transaction=True)
async def test_a_finished_epoch_answers_from_the_database(
    configured, epoch_worker, task_queue
) -> None:
    api = await sync_to_async(make_client)()
    async with epoch_worker(configured, task_queue):
        started = await call(api, "post", "", {"epoch_id": "e-fin", "request_description": "x"})
        assert started.status_code == 201
        for n in range(2, 13):
            await call(api, "post", "e-fin/advance/", {"to_phase": f"p{n}"})
            if n in (4, 10):
                for axis in ["correctness", "test_quality", "elegance"]:
                    await call(api, "post", "e-fin/votes/", {"axis": axis, "vote": "ACCEPT"})
        done = await call(api, "post", "e-fin/advance/", {"to_phase": "complete"})
        assert done.json()["status"] == "complete"
        await configured.get_workflow_handle("e-fin").result()

        detail = (await call(api, "get", "e-fin/")).json()
        assert (detail["current_phase"], detail["status"], detail["live"]) == (
            "complete",
            "complete",
            None,
        )
        assert detail["completed_at"] is not None
        closed = await call(api, "post", "e-fin/advance/", {"to_phase": "p2"})
        assert closed.status_code == 409
        assert closed.json()["detail"] == "Epoch 'e-fin' is not running."
    assert (
        await AuditRow.objects.filter(subject_id="e-fin", event_type="phase_transition").acount()
        == 12
    )


@pytest.mark.django_db(transaction=True)
async def test_an_epoch_whose_workflow_was_terminated_is_recorded_failed(
    configured, epoch_worker, task_queue
) -> None:
    api = await sync_to_async(make_client)()
    async with epoch_worker(configured, task_queue):
        for epoch_id in ("e-read", "e-move"):
            body = {"epoch_id": epoch_id, "request_description": "x"}
            started = await call(api, "post", "", body)
            assert started.status_code == 201
            await configured.get_workflow_handle(epoch_id).terminate(reason="operator")

        detail = (await call(api, "get", "e-read/")).json()
        assert (detail["status"], detail["last_error"], detail["live"]) == (
            "failed",
            "workflow terminated",
            None,
        )
        assert detail["completed_at"] is not None
        await call(api, "get", "e-read/")  # a second look records nothing more

        moved = await call(api, "post", "e-move/advance/", {"to_phase": "p2"})
        assert moved.status_code == 409
        assert moved.json()["detail"] == "Epoch 'e-move' is not running."
    assert await Epoch.objects.filter(status="failed").acount() == 2
    failed = AuditRow.objects.filter(event_type="epoch_failed").order_by("subject_id")
    assert [(e.subject_id, e.payload) async for e in failed] == [
        ("e-move", {"error": "workflow terminated"}),
        ("e-read", {"error": "workflow terminated"}),
    ]


@pytest.mark.django_db(transaction=True)
async def test_distinct_voters_need_one_user_per_axis(
    configured, epoch_worker, task_queue, settings
) -> None:
    settings.AURA_REVIEW_DISTINCT_VOTERS = True
    ann, bob, cy = [await sync_to_async(make_client)(name) for name in ("ann", "bob", "cy")]
    async with epoch_worker(configured, task_queue):
        await call(ann, "post", "", {"epoch_id": "e-dv", "request_description": "x"})
        for phase in ["p2", "p3", "p4"]:
            await call(ann, "post", "e-dv/advance/", {"to_phase": phase})

        def vote(axis: str, **extra: str) -> dict:
            return {"axis": axis, "vote": "ACCEPT", **extra}

        assert (await call(ann, "post", "e-dv/votes/", vote("correctness"))).status_code == 200
        # The label is only a label: ann cannot vote again under another name.
        second = await call(ann, "post", "e-dv/votes/", vote("elegance", reviewer_id="zed"))
        assert second.status_code == 409
        assert second.json()["violations"] == [
            "user:ann already voted on the correctness axis in this review round; "
            "each axis needs a different reviewer."
        ]
        # Changing one's own vote on the same axis is allowed.
        assert (await call(ann, "post", "e-dv/votes/", vote("correctness"))).status_code == 200
        assert (await call(bob, "post", "e-dv/votes/", vote("test_quality"))).status_code == 200
        done = await call(cy, "post", "e-dv/votes/", vote("elegance"))
        assert done.json()["live"]["votes"] == {
            "correctness": "ACCEPT",
            "test_quality": "ACCEPT",
            "elegance": "ACCEPT",
        }
        assert [(v["axis"], v["actor"], v["reviewer_id"]) for v in done.json()["votes"]] == [
            ("correctness", "user:ann", "user:ann"),
            ("correctness", "user:ann", "user:ann"),
            ("test_quality", "user:bob", "user:bob"),
            ("elegance", "user:cy", "user:cy"),
        ]
        assert (await call(ann, "post", "e-dv/advance/", {"to_phase": "p5"})).status_code == 200
        await configured.get_workflow_handle("e-dv").terminate()
