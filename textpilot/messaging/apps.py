from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "textpilot.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.messaging import links

        privacy.register("messaging", covers=["messaging.ShortLink"], export=links.export_for_profiles,
                         erase=links.redact_for_profiles, repoint=links.reassign_profile)
