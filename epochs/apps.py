from django.apps import AppConfig


class EpochsConfig(AppConfig):
    name = "epochs"
    verbose_name = "Aura Protocol epochs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.checks import register

        from epochs.activities import ACTIVITIES
        from epochs.checks import check_epoch_settings
        from epochs.workflows import EpochWorkflow, ReviewPhaseWorkflow, SliceWorkflow
        from workers import registry

        register(check_epoch_settings)

        # Same queue as the audit activities the workflows call, as in aurad.
        registry.register(
            "aura",
            name=lambda task_queue: task_queue,
            workflows=[EpochWorkflow, SliceWorkflow, ReviewPhaseWorkflow],
            activities=ACTIVITIES,
        )
