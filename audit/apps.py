from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import checks  # noqa: F401  (registers the system checks)
        from audit.activities import query_audit_events, record_audit_event
        from audit.dashboard import register_panels
        from audit.metrics import AuditCollector
        from audit.trails import init_worker_trail
        from audit.workflows import AuditLogWorkflow
        from aura_site import metrics
        from workers import registry

        metrics.register(AuditCollector())

        registry.on_worker_start(init_worker_trail)
        register_panels()
        # The audit activities, and the audit workflows of the `temporal` trail, live on the
        # Aura protocol queue, beside the epoch workflows.
        registry.register(
            "aura",
            name=lambda task_queue: task_queue,
            workflows=[AuditLogWorkflow],
            activities=[record_audit_event, query_audit_events],
        )
