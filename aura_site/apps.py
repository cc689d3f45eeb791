from django.apps import AppConfig


class AuraSiteConfig(AppConfig):
    name = "aura_site"
    verbose_name = "Aura site"

    def ready(self) -> None:
        from aura_site import checks  # noqa: F401  (registers the system checks)
