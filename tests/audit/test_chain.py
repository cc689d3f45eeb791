"""The audit table is append-only and hash-chained; verify_audit proves or names the break."""

import threading
from datetime import UTC
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, transaction

from audit.chain import canonical_row, row_hash, verify_chain
from audit.models import GENESIS_HASH, AuditEvent, AuditVerification, ChainHead
from audit.services import record_event

pytestmark = pytest.mark.django_db


def record(n: int, **overrides) -> list[AuditEvent]:
    fields = {"subject_kind": "crisis", "subject_id": "crisis-alpha-1", "event_type": "triggered"}
    return [
        record_event(**{**fields, "payload": {"n": i, "text": 'naïve "q"\n'}, **overrides})
        for i in range(n)
    ]


def tamper(sql: str, params: list) -> None:
    """Change rows behind the append-only trigger, as someone with table rights could."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql.format(table=table), params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_rows_link_into_a_chain() -> None:
    events = record(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    head = ChainHead.objects.get()
    assert (head.seq, head.hash, head.prev_hash) == (3, events[2].hash, events[1].hash)


def test_python_recomputes_the_triggers_hash() -> None:
    [event] = record(1, phase="p1", role="épée", actor="user:ann", idempotency_key="k1")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload::text FROM {AuditEvent._meta.db_table}")
        [(payload_text,)] = cursor.fetchall()
    stored = AuditEvent.objects.get()
    occurred_at = stored.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    scalars = [str(stored.id), stored.seq, stored.subject_kind, stored.subject_id]
    scalars += [stored.event_type, stored.phase, stored.role, stored.actor, occurred_at]
    scalars += [stored.workflow_id, stored.run_id, stored.idempotency_key]
    assert row_hash(GENESIS_HASH, canonical_row(scalars, payload_text)) == event.hash


def test_idempotency_key_records_once() -> None:
    first = record_event(subject_kind="epoch", subject_id="e", event_type="x", idempotency_key="k")
    again = record_event(subject_kind="epoch", subject_id="e", event_type="y", idempotency_key="k")
    assert again.pk == first.pk
    assert again.event_type == "x"
    assert AuditEvent.objects.count() == 1
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (1, first.hash)
    assert verify_chain().intact


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: AuditEvent.objects.update(event_type="edited"),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.first().delete(),
        lambda: _save_changed(AuditEvent.objects.first()),
        lambda: AuditEvent.objects.bulk_update(
            [_changed(e) for e in AuditEvent.objects.all()], ["event_type"]
        ),
        lambda: _raw(f"UPDATE {AuditEvent._meta.db_table} SET actor = 'x'"),
        lambda: _raw(f"DELETE FROM {AuditEvent._meta.db_table}"),
    ],
    ids=[
        "queryset-update",
        "queryset-delete",
        "delete",
        "save",
        "bulk-update",
        "raw-update",
        "raw-delete",
    ],
)
def test_rows_cannot_be_changed_or_removed(attempt) -> None:
    record(2)
    with (
        pytest.raises(ProgrammingError, match="pgtrigger: Cannot update or delete rows"),
        transaction.atomic(),
    ):
        attempt()
    assert AuditEvent.objects.count() == 2
    assert not AuditEvent.objects.filter(event_type="edited").exists()
    assert verify_chain().intact


def _changed(event: AuditEvent) -> AuditEvent:
    event.event_type = "edited"
    return event


def _save_changed(event: AuditEvent) -> None:
    _changed(event).save()


def _raw(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_verify_audit_proves_an_intact_chain() -> None:
    record(5)
    assert verify() == "Audit chain intact: 5 rows verified.\n"


def test_verify_audit_keeps_each_run() -> None:
    record(5)
    verify()
    events = record(1)
    tamper("UPDATE {table} SET payload = '{{\"n\": 99}}' WHERE seq = 6", [])
    with pytest.raises(CommandError):
        verify()
    latest, first = AuditVerification.objects.all()
    assert (first.intact, first.rows_checked, first.broken_seq, first.reason) == (
        True,
        5,
        None,
        "",
    )
    assert (latest.intact, latest.rows_checked, latest.broken_seq) == (False, 5, events[0].seq)
    assert latest.reason == "contents do not match the stored hash"
    assert first.started_at <= first.finished_at <= latest.started_at <= latest.finished_at


def test_verify_audit_on_an_empty_trail() -> None:
    assert verify() == "Audit chain intact: 0 rows verified.\n"


def test_verify_audit_names_an_edited_row() -> None:
    events = record(4)
    tamper("UPDATE {table} SET payload = '{{\"n\": 99}}' WHERE seq = 3", [])
    with pytest.raises(CommandError) as caught:
        verify()
    assert str(caught.value) == (
        f"audit chain broken at row #3 ({events[2].id}): contents do not match the stored hash "
        "(2 rows verified before it)"
    )


def test_verify_audit_names_a_rehashed_row() -> None:
    events = record(3)
    # Someone edits row 2 and recomputes its own hash: the next row's link gives it away.
    tamper("UPDATE {table} SET hash = %s WHERE seq = 2", ["f" * 64])
    with pytest.raises(CommandError, match=r"row #2 .*contents do not match"):
        verify()
    tamper("UPDATE {table} SET hash = %s WHERE seq = 2", [events[1].hash])
    tamper("UPDATE {table} SET prev_hash = %s WHERE seq = 3", ["e" * 64])
    with pytest.raises(CommandError, match=r"row #3 .*prev_hash does not match"):
        verify()


def test_verify_audit_names_a_deleted_row() -> None:
    events = record(4)
    tamper("DELETE FROM {table} WHERE seq = 2", [])
    with pytest.raises(CommandError) as caught:
        verify()
    assert str(caught.value) == (
        f"audit chain broken at row #3 ({events[2].id}): row #2 is missing "
        "(1 rows verified before it)"
    )


def test_verify_audit_notices_the_last_row_removed() -> None:
    record(3)
    tamper("DELETE FROM {table} WHERE seq = 3", [])
    with pytest.raises(CommandError, match=r"row #3: the chain head expects 3 rows, found 2"):
        verify()


def test_verify_audit_notices_a_moved_head() -> None:
    events = record(3)
    # The next append chains on the head's hash: a head moved elsewhere would fork the chain.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_chainhead SET hash = %s", ["d" * 64])
    with pytest.raises(CommandError) as caught:
        verify()
    assert str(caught.value) == (
        f"audit chain broken at row #3 ({events[2].id}): the chain head's hash does not match "
        "the last row's (3 rows verified before it)"
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain() -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    record_event(subject_kind="epoch", subject_id=f"w{n}", event_type=f"e{i}")
                # Every writer races to record the same retried event: it is recorded once.
                record_event(
                    subject_kind="epoch",
                    subject_id="w",
                    event_type="retried",
                    idempotency_key=f"k{i}",
                )
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 106))
    assert AuditEvent.objects.filter(event_type="retried").count() == 15
    report = verify_chain()
    assert (report.intact, report.checked) == (True, 105)
