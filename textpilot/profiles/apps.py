from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "textpilot.profiles"
    label = "profiles"
    verbose_name = "Profiles"
