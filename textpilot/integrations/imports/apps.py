from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "textpilot.integrations.imports"
    label = "imports"
    verbose_name = "CSV imports"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.integrations.imports import privacy as import_privacy

        privacy.register("imports", covers=["imports.ImportJob"], erase=import_privacy.erase_from_imports)
