from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "textpilot.stores"
    label = "stores"
    verbose_name = "Stores"
