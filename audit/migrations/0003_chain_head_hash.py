"""The chain head keeps the last row's hash, and the chain trigger becomes plain SQL.

Before: a pgtrigger function that bumped the head, then read the previous row's hash by seq,
inside pgtrigger's `pgtrigger.ignore` check (a subtransaction per row, and a session setting
that let a writer skip the chain). After: one UPDATE of the head computes the new row's hash
from the head's, so an append reads no previous row. The hash format is unchanged, so chains
written before verify as they are; the head's hash is filled from the last row here.

The function is SECURITY DEFINER (it runs as the migrating role), so the application role needs
no write access to the head (`create_app_role` revokes it); every relation in it is
schema-qualified and its search_path is pinned, so a caller's temporary tables cannot stand in.
"""

import pgtrigger.migrations
from django.db import migrations, models

GENESIS_HASH = "0" * 64

# Canonical row: audit.models.CANONICAL_FIELDS in order; seq is the head's next one.
CHAIN_FUNCTION = """
CREATE FUNCTION {schema}.audit_hash_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    LOOP
        -- Bumping the head takes its row lock: concurrent writers queue here, so the chain
        -- never forks. The SET expressions read the head as it was: the new row's hash chains
        -- on the head's hash.
        UPDATE {schema}.audit_chainhead AS head
        SET seq = head.seq + 1,
            prev_hash = head.hash,
            hash = encode(sha256(convert_to(head.hash || jsonb_build_array(
                NEW.id, head.seq + 1, NEW.subject_kind, NEW.subject_id, NEW.event_type,
                NEW.phase, NEW.role, NEW.actor,
                to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                NEW.workflow_id, NEW.run_id, NEW.idempotency_key, NEW.payload
            )::text, 'UTF8')), 'hex')
        WHERE head.id = 1
        RETURNING head.seq, head.prev_hash, head.hash INTO NEW.seq, NEW.prev_hash, NEW.hash;
        EXIT WHEN FOUND;
        -- An empty trail (or one whose head row was flushed by a test): start at genesis.
        INSERT INTO {schema}.audit_chainhead (id, seq, hash, prev_hash)
        VALUES (1, 0, '{genesis}', '{genesis}') ON CONFLICT (id) DO NOTHING;
    END LOOP;
    -- Checked under the head's lock, so a retried activity never records twice.
    IF NEW.idempotency_key IS NOT NULL AND EXISTS (
        SELECT 1 FROM {schema}.audit_auditevent WHERE idempotency_key = NEW.idempotency_key
    ) THEN
        UPDATE {schema}.audit_chainhead SET seq = seq - 1, hash = prev_hash WHERE id = 1;
        RETURN NULL;
    END IF;
    RETURN NEW;
END;
$$;
"""

CHAIN_TRIGGER = """
CREATE TRIGGER audit_hash_chain BEFORE INSERT ON {schema}.audit_auditevent
FOR EACH ROW EXECUTE FUNCTION {schema}.audit_hash_chain();
"""

# The head of a chain written before this migration: the last row's seq and hash.
FILL_HEAD = """
UPDATE {schema}.audit_chainhead AS head SET hash = last.hash, prev_hash = last.prev_hash
FROM {schema}.audit_auditevent AS last WHERE head.id = 1 AND last.seq = head.seq;
"""


def install_chain_trigger(apps, schema_editor) -> None:
    """Fill the head's hash and create the chain trigger, in the migrating connection's schema."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        [schema] = cursor.fetchone()
    names = {"schema": schema_editor.quote_name(schema), "genesis": GENESIS_HASH}
    for statement in (FILL_HEAD, CHAIN_FUNCTION, CHAIN_TRIGGER):
        schema_editor.execute(statement.format(**names))


def remove_chain_trigger(apps, schema_editor) -> None:
    schema_editor.execute("DROP TRIGGER audit_hash_chain ON audit_auditevent")
    schema_editor.execute("DROP FUNCTION audit_hash_chain()")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_auditverification"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="auditevent",
            name="hash_chain",
        ),
        migrations.AddField(
            model_name="chainhead",
            name="hash",
            field=models.CharField(default=GENESIS_HASH, max_length=64),
        ),
        migrations.AddField(
            model_name="chainhead",
            name="prev_hash",
            field=models.CharField(default=GENESIS_HASH, max_length=64),
        ),
        migrations.RunPython(install_chain_trigger, remove_chain_trigger),
    ]
