from logging import Logger

from django.apps import AppConfig
from django.conf import settings


def log_worker_start(logger: Logger, task_queue: str) -> None:
    """Log the worker's start-up lines for the crisis queue."""
    from crises.activities import ACTIVITIES

    logger.info("Liara worker created with 1 workflows and %d activities", len(ACTIVITIES))
    logger.info("Task queue: %s", task_queue)


class CrisesConfig(AppConfig):
    name = "crises"
    verbose_name = "Crisis responses"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aura_site import logs, metrics, subjects
        from aura_site.runs import outbox
        from crises import checks  # noqa: F401  (registers the system checks)
        from crises.activities import ACTIVITIES, SCHEDULE_ACTIVITIES
        from crises.dashboard import register_panels
        from crises.metrics import CrisisCollector
        from crises.services import SUBJECT_KIND, close_unstarted, schedules
        from crises.workflows import (
            WORKFLOW_ID_PREFIX,
            CrisisResponseWorkflow,
            ScheduledCrisisWorkflow,
        )
        from workers import registry

        outbox.register(SUBJECT_KIND, on_failed=close_unstarted)
        register_panels()
        metrics.register(CrisisCollector())
        subjects.register(
            SUBJECT_KIND,
            view_permission="crises.view_crisis",
            changelist="admin:crises_crisis_changelist",
        )
        subjects.register(
            schedules.SUBJECT_KIND,
            view_permission="crises.view_crisisschedule",
            changelist="admin:crises_crisisschedule_changelist",
        )
        # Log records of a crisis's workflow carry its `crisis_id`.
        logs.register_subject(
            [outbox.workflow_name(CrisisResponseWorkflow)],
            "crisis_id",
            lambda workflow_id: workflow_id.removeprefix(WORKFLOW_ID_PREFIX),
        )

        # `runworker` serves the crisis queue beside the Aura queue, whatever --task-queue says.
        registry.register(
            "crisis",
            name=lambda _task_queue: settings.CRISIS_TASK_QUEUE,
            workflows=[CrisisResponseWorkflow],
            activities=ACTIVITIES,
            on_start=log_worker_start,
        )
        # The firings of crisis schedules record their crisis on the same queue.
        registry.register(
            "crisis",
            name=lambda _task_queue: settings.CRISIS_TASK_QUEUE,
            workflows=[ScheduledCrisisWorkflow],
            activities=SCHEDULE_ACTIVITIES,
        )
