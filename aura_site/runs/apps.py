from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "aura_site.runs"
    label = "runs"
    verbose_name = "Workflow runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aura_site import metrics
        from aura_site.runs.metrics import StartIntentCollector

        metrics.register(StartIntentCollector())
