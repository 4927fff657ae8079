from django.apps import AppConfig


class GrowthConfig(AppConfig):
    name = "textpilot.growth"
    label = "growth"
    verbose_name = "Growth"
