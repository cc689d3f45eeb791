"""The application's PostgreSQL role works the app but cannot switch the audit triggers off."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from audit.services import record_event
from crises import services
from crises.models import Crisis

PASSWORD = "app-role-secret"


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Return a fresh role name; drop the role (and its grants) after the test."""
    name = f"aura_app_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AURA_TEST_ROLE_PASSWORD", PASSWORD)
    yield name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


def connect_as(name: str) -> psycopg.Connection:
    """Connect to the test database as `name`, on the host or socket Django uses."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or db["OPTIONS"].get("host", ""),
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=name,
        password=PASSWORD,
        autocommit=True,
    )


@contextmanager
def django_as(name: str) -> Iterator[None]:
    """Make Django's default connection log in as `name` for the duration."""
    db = connection.settings_dict
    saved = db["USER"], db["PASSWORD"]
    connection.close()
    db["USER"], db["PASSWORD"] = name, PASSWORD
    try:
        yield
    finally:
        connection.close()
        db["USER"], db["PASSWORD"] = saved


def create(name: str, *args: str) -> str:
    out = StringIO()
    call_command(
        "create_app_role", name, "--password-env", "AURA_TEST_ROLE_PASSWORD", *args, stdout=out
    )
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_app_role_works_the_app_but_cannot_touch_the_audit_triggers(role: str) -> None:
    assert f"Role '{role}' created" in create(role)
    assert f"Role '{role}' updated" in create(role)  # idempotent
    with connect_as(role) as conn:
        superuser, owns = conn.execute(
            "SELECT rolsuper, pg_get_userbyid(relowner) = current_user FROM pg_roles, pg_class "
            "WHERE rolname = current_user AND pg_class.oid = 'audit_auditevent'::regclass"
        ).fetchone()
        assert (superuser, owns) == (False, False)
        for statement in (
            "ALTER TABLE audit_auditevent DISABLE TRIGGER pgtrigger_append_only_00dfa",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
            "DROP TRIGGER pgtrigger_append_only_00dfa ON audit_auditevent",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
                conn.execute(statement)
        # pgtrigger's own escape hatch (a session setting its triggers honour) is closed too.
        (source,) = conn.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'pgtrigger_append_only_00dfa'"
        ).fetchone()
        assert "_pgtrigger_should_ignore" in source
        conn.execute(
            "SELECT set_config('pgtrigger.ignore', "
            "'{audit_auditevent:pgtrigger_append_only_00dfa}', false)"
        )
        for statement in (
            "UPDATE audit_auditevent SET actor = 'forged'",
            "DELETE FROM audit_auditevent",
            "TRUNCATE audit_auditevent",
            # The chain head moves only through the chain trigger (SECURITY DEFINER).
            "UPDATE audit_chainhead SET seq = 0",
            "INSERT INTO audit_chainhead (id, seq, hash, prev_hash) VALUES (2, 0, '', '')",
            "DELETE FROM audit_chainhead",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(statement)

    with django_as(role):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (role,)
        trigger = services.record_crisis(
            target="target-role", missions=services.cli_missions("target-role", ["recon"])
        )
        event = record_event(
            subject_kind="crisis",
            subject_id=trigger.record.crisis_id,
            event_type="note",
            actor=f"db:{role}",
            idempotency_key=f"role-test-{role}",
        )
        assert event.seq > 0 and len(event.hash) == 64
        assert Crisis.objects.get(crisis_id=trigger.record.crisis_id).phases.count() == 1
        assert AuditEvent.objects.filter(actor=f"db:{role}").count() == 1
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "Audit chain intact" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_dry_run_prints_the_sql_hides_the_password_and_creates_nothing(role: str) -> None:
    out = create(role, "--dry-run")
    assert f'CREATE ROLE "{role}" WITH LOGIN NOSUPERUSER' in out
    assert f'REVOKE UPDATE, DELETE, TRUNCATE ON "public"."audit_auditevent" FROM "{role}";' in out
    assert PASSWORD not in out and "PASSWORD '********'" in out
    assert out.rstrip().endswith(f"Dry run: role '{role}' is new.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role])
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_the_owner_or_a_superuser_is_refused() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    with pytest.raises(CommandError, match="the application needs a role of its own"):
        call_command("create_app_role", owner, stdout=StringIO())
    with pytest.raises(CommandError, match="AURA_NO_SUCH_VARIABLE is unset"):
        call_command("create_app_role", "x", "--password-env", "AURA_NO_SUCH_VARIABLE")
