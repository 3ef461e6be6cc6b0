from django.apps import AppConfig


class MonitorkitConfig(AppConfig):
    name = "monitorkit"
    verbose_name = "Command monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import monitor_settings

        if monitor_settings.auto:  # MONITORKIT_AUTO: every management command is monitored
            from . import instrument

            instrument.install()
