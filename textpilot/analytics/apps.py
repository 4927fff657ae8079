from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "textpilot.analytics"
    label = "analytics"
    verbose_name = "Analytics"
