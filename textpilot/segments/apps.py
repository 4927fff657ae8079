from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "textpilot.segments"
    label = "segments"
    verbose_name = "Segments"
