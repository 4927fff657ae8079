from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "textpilot.web"
    label = "web"
    verbose_name = "Web"
