"""Chains written before migration 0003 (the head keeps the hash) verify and grow after it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.chain import verify_chain
from audit.models import AuditEvent, ChainHead
from audit.services import record_event

BEFORE, AFTER = ("audit", "0002_auditverification"), ("audit", "0003_chain_head_hash")


def migrate_audit_to(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


@pytest.mark.django_db(transaction=True)
def test_a_chain_written_by_the_old_trigger_verifies_and_grows_after_0003() -> None:
    migrate_audit_to(BEFORE)
    try:
        # The pgtrigger function of 0001 writes these (record_event's INSERT is the same).
        old = [
            record_event(subject_kind="crisis", subject_id="c", event_type=f"e{i}")
            for i in range(3)
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE '%hash_chain%'")
            assert cursor.fetchall() == [("pgtrigger_hash_chain_01416",)]
    finally:
        migrate_audit_to(AFTER)

    head = ChainHead.objects.get()
    assert (head.seq, head.hash, head.prev_hash) == (3, old[2].hash, old[1].hash)
    assert (verify_chain().intact, verify_chain().checked) == (True, 3)
    new = record_event(subject_kind="crisis", subject_id="c", event_type="after")
    assert (new.seq, new.prev_hash) == (4, old[2].hash)
    assert AuditEvent.objects.get(seq=4).hash == new.hash
    report = verify_chain()
    assert (report.intact, report.checked) == (True, 4)
