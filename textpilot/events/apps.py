from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "textpilot.events"
    label = "events"
    verbose_name = "Events"
