from django.apps import AppConfig


class CrisesConfig(AppConfig):
    name = "crises"
    verbose_name = "Crisis responses"
    default_auto_field = "django.db.models.BigAutoField"
