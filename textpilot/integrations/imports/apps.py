from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "textpilot.integrations.imports"
    label = "imports"
    verbose_name = "CSV imports"
