from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "textpilot.commerce"
    label = "commerce"
    verbose_name = "Commerce"
