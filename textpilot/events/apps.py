from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "textpilot.events"
    label = "events"
    verbose_name = "Events"

    def ready(self):
        # Huey registers tasks only from modules named tasks.py; the import tasks live apart.
        from textpilot.events import import_tasks  # noqa: F401
