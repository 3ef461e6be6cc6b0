from django.apps import AppConfig


class MonitorkitConfig(AppConfig):
    name = "monitorkit"
    verbose_name = "Command monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
