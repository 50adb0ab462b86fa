from django.apps import AppConfig


class InteropAppConfig(AppConfig):
    name = "interop_app"
    default_auto_field = "django.db.models.BigAutoField"
