"""The fast renderings of hot lists (issue 14) answer byte for byte what the serializers did.

An epoch's four record lists and the crisis list page are built from compiled-once queries and
plain dicts; these tests render the same rows through the DRF serializers and compare the JSON.
"""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from audit.models import AuditEvent
from aura_site.api.rows import PreparedRows, RowRenderer
from aura_site.runs import outbox
from aura_site.runs.models import StartIntent
from crises import services
from crises.api.filters import CrisisFilter
from crises.api.serializers import CrisisSerializer, crisis_list_renderer, crisis_renderer
from crises.api.views import crisis_records
from crises.models import Crisis, CrisisPhase, CrisisSchedule
from epochs.api import serializers as epoch_serializers
from epochs.models import Epoch, EpochBlocker, EpochSession, EpochSlice, EpochVote
from tests.dashboard.conftest import crisis
from tests.perf.test_query_counts import token_client

T0 = dt.datetime(2026, 1, 16, 10, 30, 0, 120000, tzinfo=dt.UTC)


def as_json(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def epoch(db) -> Epoch:
    """An epoch with every kind of record, None and empty values included."""
    user = User.objects.create_user("starter")
    epoch = Epoch.objects.create(
        epoch_id="epoch-render",
        request_description="dark mode",
        current_phase="p10",
        status=Epoch.Status.RUNNING,
        blocker_count=1,
        started_by=user,
    )
    for sequence in range(1, 5):
        EpochVote.objects.create(
            epoch=epoch,
            sequence=sequence,
            phase="p4" if sequence < 3 else "p10",
            cycle=sequence,
            axis="correctness",
            vote="ACCEPT" if sequence % 2 else "REVISE",
            reviewer_id=f"reviewer-{sequence}",
            actor="user:starter",
            # Whole seconds and microseconds: isoformat spells them differently.
            recorded_at=T0 + dt.timedelta(seconds=sequence, microseconds=sequence % 2),
        )
    EpochBlocker.objects.create(
        epoch=epoch,
        blocker_id="b-1",
        severity="BLOCKER",
        description='«unicode» "quoted"',
        reported_by="r",
        phase="p10",
        created_at=T0,
    )
    EpochBlocker.objects.create(
        epoch=epoch,
        blocker_id="b-2",
        severity="MINOR",
        reported_by="r",
        phase="p10",
        resolved=True,
        created_at=T0 + dt.timedelta(seconds=1),
        resolved_at=T0,
    )
    EpochSlice.objects.create(
        epoch=epoch,
        slice_id="s-1",
        mode="mock",
        status="completed",
        workflow_id="w-1",
        output="line\nline",
        submitted_by="u",
        created_at=T0,
        updated_at=T0,
    )
    EpochSession.objects.create(
        epoch=epoch,
        session_id="sess-1",
        role="worker",
        model="anthropic/claude",
        registered_at=T0,
    )
    return epoch


def test_epoch_list_page_is_the_serializers_json(epoch: Epoch) -> None:
    Epoch.objects.create(epoch_id="epoch-plain", request_description="", current_phase="complete")
    found = token_client().get("/api/v1/epochs/?ordering=-created_at")
    assert found.status_code == 200, found.content
    queryset = outbox.with_start(Epoch.objects.select_related("started_by"), "epoch_id")
    expected = epoch_serializers.EpochSerializer(queryset.order_by("-created_at"), many=True)
    assert json.dumps(found.json()["results"]) == json.dumps(json.loads(as_json(expected.data)))
    assert [row["started_by"] for row in found.json()["results"]] == [None, "starter"]


def serializer_detail(epoch: Epoch) -> dict:
    """The detail as the DRF serializers rendered it before the fast path."""
    data = epoch_serializers.EpochSerializer(epoch).data
    data["live"] = None
    data["votes"] = epoch_serializers.VoteRowSerializer(epoch.votes.all(), many=True).data
    data["blockers"] = epoch_serializers.BlockerRowSerializer(epoch.blockers.all(), many=True).data
    data["slices"] = epoch_serializers.SliceRowSerializer(epoch.slices.all(), many=True).data
    data["sessions"] = epoch_serializers.SessionRowSerializer(epoch.sessions.all(), many=True).data
    return data


def test_epoch_detail_is_the_serializers_json(epoch: Epoch) -> None:
    expected = as_json(serializer_detail(epoch))
    found = as_json(epoch_serializers.epoch_detail(epoch, None))
    assert found == expected
    assert len(json.loads(found)["votes"]) == 4


def test_refresh_recorded_reads_what_the_worker_wrote(epoch: Epoch) -> None:
    later = T0 + dt.timedelta(hours=1)
    Epoch.objects.filter(pk=epoch.pk).update(
        current_phase="p11", blocker_count=0, last_error="late", updated_at=later
    )
    epoch_serializers.refresh_recorded(epoch)
    fresh = Epoch.objects.get(pk=epoch.pk)
    assert as_json(epoch_serializers.EpochSerializer(epoch).data) == as_json(
        epoch_serializers.EpochSerializer(fresh).data
    )
    assert (epoch.current_phase, epoch.last_error, epoch.updated_at) == ("p11", "late", later)


def test_prepared_rows_take_several_keys_and_refuse_converted_columns(epoch: Epoch) -> None:
    other = Epoch.objects.create(epoch_id="epoch-other")
    EpochVote.objects.create(
        epoch=other,
        sequence=1,
        phase="p4",
        cycle=1,
        axis="elegance",
        vote="ACCEPT",
        recorded_at=T0,
    )
    rows = PreparedRows(EpochVote, ["epoch_id", "sequence"], key="epoch", order_by=["sequence"])
    assert sorted(rows.fetch([epoch.pk, other.pk])) == sorted(
        EpochVote.objects.values_list("epoch_id", "sequence")
    )
    assert rows.fetch([]) == []
    with pytest.raises(ValueError, match="is not a plain column"):
        RowRenderer(epoch_serializers.EpochSerializer)
    with pytest.raises(ValueError, match="converters"):
        PreparedRows(AuditEvent, ["payload"], key="subject_id", order_by=[])


@pytest.fixture
def crises(db) -> list[Crisis]:
    """Crises with every optional part: phases (timed or not), re-runs, a schedule, a user, a
    pending start, a cancel request."""
    user = User.objects.create_user("trigger-user")
    schedule = CrisisSchedule.objects.create(
        name="nightly", target="target-alpha", cron="0 1 * * *"
    )
    first = crisis("crisis-r-1", "completed", started_ago=5, ended_ago=4, phases=["completed"] * 3)
    CrisisPhase.objects.filter(crisis=first, position=0).update(started_at=T0)
    CrisisPhase.objects.filter(crisis=first, position=1).update(started_at=T0, finished_at=T0)
    failed = crisis(
        "crisis-r-2", "partial_failure", started_ago=3, ended_ago=2, phases=["completed", "failed"]
    )
    reruns = [
        crisis(f"crisis-r-{i}", "completed", started_ago=4 - i * 0.1, ended_ago=1) for i in (3, 4)
    ]
    Crisis.objects.filter(pk__in=[r.pk for r in reruns]).update(rerun_of=first)
    Crisis.objects.filter(pk=failed.pk).update(
        initiated_by_user=user,
        schedule=schedule,
        cancel_requested_by="user:x",
        cancel_requested_at=timezone.now(),
    )
    StartIntent.objects.create(
        subject_kind="crisis",
        subject_id=failed.crisis_id,
        workflow_id=failed.workflow_id,
        workflow_type="CrisisResponseWorkflow",
        task_queue="crises",
        arguments={},
        attempts=2,
        next_attempt_at=T0,
        give_up_at=T0 + dt.timedelta(hours=1),
    )
    return [first, failed, *reruns]


def test_crisis_list_renderer_is_the_serializers_json(crises: list[Crisis]) -> None:
    crises = list(crisis_records())
    expected = as_json(CrisisSerializer(crises, many=True).data)
    found = as_json(crisis_list_renderer().render([crisis.pk for crisis in crises]))
    assert found == expected
    rendered = json.loads(found)
    assert {len(row["phases"]) for row in rendered} == {0, 2, 3}
    assert [row["reruns"] for row in rendered if row["reruns"]] == [["crisis-r-4", "crisis-r-3"]]
    assert any(row["start"] for row in rendered) and any(row["schedule"] for row in rendered)


def test_crisis_renderer_is_the_serializers_json(crises: list[Crisis]) -> None:
    # Annotated with the start (crisis_records) and not (the start looked up), and a crisis
    # just recorded, its start intent in memory, as a trigger's answer shows it.
    recorded = services.record_crisis(
        target="target-beta", missions=services.cli_missions("target-beta", ["deploy"])
    )
    recorded.record.start_json = outbox.start_json(recorded.intent)
    shown = [
        *crisis_records(),
        *Crisis.objects.prefetch_related("phases", "reruns"),
        recorded.record,
    ]
    for shown_crisis in shown:
        expected = as_json(CrisisSerializer(shown_crisis).data)
        assert as_json(crisis_renderer().render(shown_crisis)) == expected
    assert json.loads(as_json(crisis_renderer().render(recorded.record)))["start"]["state"] == (
        "pending"
    )


def test_crisis_list_page_is_the_serializers_json(crises: list[Crisis]) -> None:
    api = token_client()
    page = api.get("/api/v1/crises/?ordering=-started_at&limit=3&offset=1")
    assert page.status_code == 200, page.content
    expected = CrisisSerializer(
        list(crisis_records().order_by("-started_at")[1:4]), many=True
    ).data
    assert json.dumps(page.json()["results"]) == json.dumps(json.loads(as_json(expected)))
    assert page.json()["count"] == len(crises)


def test_filter_form_class_is_built_once_and_still_validates(db) -> None:
    bad = CrisisFilter(data=QueryDict("status=bogus"), queryset=Crisis.objects.all())
    good = CrisisFilter(data=QueryDict("status=completed"), queryset=Crisis.objects.all())
    assert bad.get_form_class() is good.get_form_class()
    assert not bad.is_valid() and "status" in bad.errors
    assert good.is_valid()
    assert token_client().get("/api/v1/crises/?status=bogus").status_code == 400
