from django.apps import AppConfig


class EpochsConfig(AppConfig):
    name = "epochs"
    verbose_name = "Aura Protocol epochs"
    default_auto_field = "django.db.models.BigAutoField"
