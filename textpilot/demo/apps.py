from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo store generator (`textpilot seed_demo`). No models; it writes through the
    other apps, so it sits at the top with `web`."""

    name = "textpilot.demo"
    label = "demo"
    verbose_name = "Demo data"
