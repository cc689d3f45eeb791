"""GET /metrics: who may scrape, and the values following real work on a real worker."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent, AuditVerification
from aura_site.runs.models import StartIntent
from crises.models import Crisis
from epochs.models import Epoch, EpochTransition

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    """Return every sample of a scrape by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: DjangoClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "allow", "remote", "authorization", "status"),
    [
        ("", None, "127.0.0.1", "", 200),  # default: loopback only, no token
        ("", None, "::1", "", 200),
        ("", None, "10.1.2.3", "", 403),
        ("", "10.0.0.0/8", "10.1.2.3", "", 200),
        ("", "10.0.0.0/8", "127.0.0.1", "", 403),
        ("s3cret", None, "127.0.0.1", "", 403),  # token set: none sent
        ("s3cret", None, "127.0.0.1", "Bearer wrong", 403),
        ("s3cret", None, "127.0.0.1", "Token s3cret", 403),
        ("s3cret", None, "127.0.0.1", "Bearer s3cret", 200),
        ("s3cret", None, "10.1.2.3", "Bearer s3cret", 403),  # right token, wrong address
        ("s3cret", "0.0.0.0/0", "10.1.2.3", "Bearer s3cret", 200),
    ],
)
def test_who_may_scrape(settings, token, allow, remote, authorization, status) -> None:
    import ipaddress

    settings.AURA_METRICS_TOKEN = token
    if allow is not None:
        settings.AURA_METRICS_ALLOW = [ipaddress.ip_network(allow)]
    headers = {"Authorization": authorization} if authorization else {}
    response = DjangoClient(REMOTE_ADDR=remote).get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert b"aura_" not in response.content and b"s3cret" not in response.content
    else:
        assert b"aura_crises{" in response.content


@pytest.mark.django_db
def test_only_get_and_head() -> None:
    assert DjangoClient().post("/metrics").status_code == 405


@pytest.mark.django_db
def test_database_facts_are_read_at_scrape_time(client: DjangoClient) -> None:
    before = scrape(client)
    now = timezone.now()
    Crisis.objects.create(crisis_id="c-1", workflow_id="crisis-c-1", target="t", status="failed")
    epoch = Epoch.objects.create(epoch_id="e-1", status="running", current_phase="p3")
    for index, success in enumerate([True, True, False]):
        EpochTransition.objects.create(
            epoch=epoch,
            index=index,
            from_phase="p1",
            to_phase="p2",
            success=success,
            occurred_at=now,
        )
    StartIntent.objects.create(
        subject_kind="crisis",
        subject_id="c-1",
        workflow_id="crisis-c-1",
        workflow_type="CrisisResponseWorkflow",
        task_queue="q",
        arguments=[],
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=1),
    )
    StartIntent.objects.filter(workflow_id="crisis-c-1").update(created_at=now - timedelta(60))
    after = scrape(client)

    assert (
        value(after, "aura_crises", status="failed")
        == value(before, "aura_crises", status="failed") + 1
    )
    assert value(after, "aura_epochs", phase="p3", status="running") == 1
    assert value(after, "aura_epoch_transitions_total", result="accepted") == 2
    assert value(after, "aura_epoch_transitions_total", result="refused") == 1
    assert value(after, "aura_pending_starts") == 1
    assert value(after, "aura_start_intents", state="pending") == 1
    assert value(after, "aura_pending_start_oldest_age_seconds") >= 60 * 86400 - 5


@pytest.mark.django_db
def test_verify_audit_stores_its_result_for_the_metrics(client: DjangoClient) -> None:
    assert not any(name.startswith("aura_audit_verification") for name, _ in scrape(client))
    call_command("verify_audit", stdout=open("/dev/null", "w"))  # noqa: SIM115
    run = AuditVerification.objects.get()
    assert run.intact and run.rows_checked == AuditEvent.objects.count()
    samples = scrape(client)
    assert value(samples, "aura_audit_verification_ok") == 1
    assert value(samples, "aura_audit_verification_rows") == run.rows_checked
    assert value(samples, "aura_audit_verification_timestamp_seconds") == pytest.approx(
        run.finished_at.timestamp()
    )


@pytest.mark.django_db(transaction=True)
def test_values_follow_a_crisis_run_by_a_real_worker(worker_thread, django_user_model) -> None:
    user = django_user_model.objects.create_superuser("ops", password="x")
    api = DjangoClient(headers={"Authorization": f"Token {Token.objects.create(user=user).key}"})
    scraper = DjangoClient()
    route = "/api/v1/crises/"
    before = scrape(scraper)
    missions = [
        {
            "phase_id": f"phase-{n}",
            "agent_id": "agent",
            "action": "recon",
            "target": "target-alpha",
        }
        for n in range(3)
    ]
    response = api.post(
        "/api/v1/crises/", {"target": "target-alpha", "missions": missions}, "application/json"
    )
    assert response.status_code == 201, response.content
    crisis_id = response.json()["crisis_id"]
    deadline = time.monotonic() + 60
    while Crisis.objects.get(crisis_id=crisis_id).status != "completed":
        assert time.monotonic() < deadline, "the crisis did not complete"
        time.sleep(0.1)
    after = scrape(scraper)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("aura_crises", status="completed") == 1
    assert delta("aura_crisis_phases", status="completed") == 3
    assert delta("aura_crisis_phase_duration_seconds_count", status="completed") == 3
    assert delta("aura_crisis_phase_duration_seconds_bucket", status="completed", le="+Inf") == 3
    assert delta("aura_crisis_phase_duration_seconds_sum", status="completed") > 0
    assert delta("aura_mission_attempts_total", outcome="succeeded") == 3
    assert delta("aura_mission_retries_total") == 0
    # Triggered, three phases logged, finalized: at least five events.
    assert delta("aura_audit_events_total") >= 5
    assert value(after, "aura_audit_events_total") == AuditEvent.objects.count()
    assert delta("aura_api_requests_total", route=route, method="POST", status="201") == 1
    assert delta("aura_api_request_duration_seconds_count", route=route, method="POST") == 1


@pytest.mark.django_db
def test_requests_are_labelled_by_route_pattern_not_path(client: DjangoClient) -> None:
    client.get("/api/v1/crises/no-such-crisis/")
    client.get("/api/v1/nowhere/")
    samples = scrape(client)
    assert (
        value(
            samples,
            "aura_api_requests_total",
            route="/api/v1/crises/{crisis_id}/",
            method="GET",
            status="401",
        )
        >= 1
    )
    assert (
        value(samples, "aura_api_requests_total", route="unmatched", method="GET", status="404")
        >= 1
    )
    assert not any("no-such-crisis" in str(labels) for _, labels in samples)
