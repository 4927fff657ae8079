from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "textpilot.events"
    label = "events"
    verbose_name = "Events"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.events import service

        privacy.register(
            "events", covers=["events.Event"], export=lambda store, ids: {"events": service.export_for_profiles(store, ids)},
            erase=service.redact_for_profiles, repoint=service.reassign_profile,
        )
