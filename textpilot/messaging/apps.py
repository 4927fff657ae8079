from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "textpilot.messaging"
    label = "messaging"
    verbose_name = "Messaging"
