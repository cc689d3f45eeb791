from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "aura_site.runs"
    label = "runs"
    verbose_name = "Workflow runs"
    default_auto_field = "django.db.models.BigAutoField"
