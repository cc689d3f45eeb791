from django.apps import AppConfig

from epochs.search_attributes import DEFINITIONS


class EpochsConfig(AppConfig):
    name = "epochs"
    verbose_name = "Aura Protocol epochs"
    default_auto_field = "django.db.models.BigAutoField"
    # The dev stack and the test servers register these (aura_site.temporal.search_attributes).
    search_attributes = DEFINITIONS

    def ready(self) -> None:
        from django.core.checks import register

        from aura_site import logs, metrics, subjects
        from aura_site.runs import outbox
        from epochs.activities import ACTIVITIES
        from epochs.checks import check_epoch_settings
        from epochs.dashboard import register_panels
        from epochs.metrics import EpochCollector
        from epochs.services import SUBJECT_KIND, close_unstarted, mark_started
        from epochs.workflows import EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow
        from epochs.workflows.common import review_epoch_id, slice_epoch_id
        from workers import registry

        register(check_epoch_settings)
        outbox.register(SUBJECT_KIND, on_failed=close_unstarted, on_started=mark_started)
        register_panels()
        metrics.register(EpochCollector())
        subjects.register(
            SUBJECT_KIND,
            view_permission="epochs.view_epoch",
            changelist="admin:epochs_epoch_changelist",
        )
        # Log records of an epoch's workflows (its children too) carry its `epoch_id`.
        logs.register_subject([outbox.workflow_name(EpochWorkflow)], "epoch_id", str)
        logs.register_subject([outbox.workflow_name(SliceWorkflow)], "epoch_id", slice_epoch_id)
        logs.register_subject(
            [outbox.workflow_name(ReviewPhaseWorkflow)], "epoch_id", review_epoch_id
        )

        # Same queue as the audit activities the workflows call.
        registry.register(
            "aura",
            name=lambda task_queue: task_queue,
            workflows=[EpochWorkflow, SliceWorkflow, ReviewPhaseWorkflow],
            activities=ACTIVITIES,
        )
