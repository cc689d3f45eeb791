"""Bulk crisis rows for scale tests and benchmarks: one INSERT … SELECT per table."""

from django.db import connection

STATUSES = (
    "ARRAY['completed','completed','completed','completed','completed','completed',"
    "'completed','failed','partial_failure','cancelled']"
)


def insert_crises(count: int) -> None:
    """Insert `count` crises, one every 30 s back from now (1 in 1,000 still running, the rest
    mostly completed, some failed, partially failed or cancelled), and three phases for one
    crisis in ten (a partial failure's second phase failed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO crises_crisis (id, crisis_id, workflow_id, target, status, initiated_by,
                request_fingerprint, error, cancel_requested_by, started_at, completed_at,
                created_at, updated_at)
            SELECT gen_random_uuid(), 'crisis-bulk-' || i, 'crisis-workflow-bulk-' || i,
                'target-' || (i %% 50),
                CASE WHEN i %% 1000 = 0 THEN 'running' ELSE ({STATUSES})[1 + i %% 10] END,
                'bench', '', CASE WHEN i %% 10 = 7 THEN 'agent unreachable' ELSE '' END, '',
                now() - i * interval '30 seconds',
                CASE WHEN i %% 1000 = 0 THEN NULL
                    ELSE now() - i * interval '30 seconds' + interval '20 seconds' END,
                now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO crises_crisisphase (id, crisis_id, position, phase_id, agent_id, action,
                target, priority, status, attempts, error, created_at, updated_at)
            SELECT gen_random_uuid(), c.id, p, 'phase-' || (p + 1), 'agent', 'recon', c.target,
                1, CASE WHEN c.status = 'running' THEN 'pending'
                    WHEN c.status = 'partial_failure' AND p = 1 THEN 'failed'
                    ELSE 'completed' END,
                1, '', now(), now()
            FROM crises_crisis c CROSS JOIN generate_series(0, 2) AS p
            WHERE right(c.crisis_id, 1) = '0'
            """
        )
