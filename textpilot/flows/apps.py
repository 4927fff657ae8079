from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "textpilot.flows"
    label = "flows"
    verbose_name = "Flows"
