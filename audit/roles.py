"""The application's PostgreSQL role: reads and writes rows, owns nothing, alters nothing.

Migrations run as the role that owns the tables. The web server and the workers connect as a
role that is no superuser and owns no table, so it cannot `ALTER TABLE ... DISABLE TRIGGER` on
the audit table (only its owner or a superuser may); it gets no UPDATE, DELETE or TRUNCATE on
the audit table either, so not even a session setting that pgtrigger honours
(`pgtrigger.ignore`) lets it rewrite history; nor any write on the chain head, which only the
chain trigger (SECURITY DEFINER) moves.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from psycopg import sql

from audit.models import AuditEvent, ChainHead

ROLE_OPTIONS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


class RoleRefused(Exception):
    """Raised when the named role cannot serve as the application's role."""


@dataclass(frozen=True)
class RolePlan:
    """The statements that give `name` the application's privileges, and whether it exists."""

    name: str
    exists: bool
    statements: list[sql.Composed]


def plan(name: str, *, password: str | None = None) -> RolePlan:
    """Return the statements making `name` the application's role on the current database.

    Raises:
        RoleRefused: the role is a superuser, or owns the audit table (it could drop the
            triggers), or is the role this connection uses.
    """
    audit_table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_database(), current_schema(), current_user, "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = %s), "
            "(SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(%s))",
            [name, audit_table],
        )
        database, schema, current_user, superuser, audit_owner = cursor.fetchone()
    if name in (current_user, audit_owner):
        raise RoleRefused(
            f"{name!r} owns the tables (it runs the migrations): the application needs a role "
            "of its own"
        )
    if superuser:
        raise RoleRefused(f"{name!r} is a superuser: a superuser may switch the triggers off")
    role = sql.Identifier(name)
    schema_id = sql.Identifier(schema)
    options = sql.SQL(ROLE_OPTIONS)
    if password is not None:
        options = sql.SQL("{} PASSWORD {}").format(options, sql.Literal(password))
    statements = [
        sql.SQL(
            "ALTER ROLE {} WITH {}" if superuser is not None else "CREATE ROLE {} WITH {}"
        ).format(role, options),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            schema_id, role
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema_id, role),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
            sql.Identifier(schema, audit_table), role
        ),
        # Only the chain trigger (SECURITY DEFINER, running as the owner) moves the head.
        sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
            sql.Identifier(schema, ChainHead._meta.db_table), role
        ),
    ]
    return RolePlan(name=name, exists=superuser is not None, statements=statements)


def render(role_plan: RolePlan) -> list[str]:
    """Return the plan's statements as SQL text."""
    connection.ensure_connection()
    return [statement.as_string(connection.connection) for statement in role_plan.statements]


@transaction.atomic
def apply(role_plan: RolePlan) -> None:
    """Run the plan's statements in one transaction."""
    with connection.cursor() as cursor:
        for statement in role_plan.statements:
            cursor.execute(statement)
