from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "textpilot.profiles"
    label = "profiles"
    verbose_name = "Profiles"

    def ready(self):
        from textpilot.common import privacy

        # Erased and exported by profiles.privacy itself; the apps above register their own parts.
        privacy.register("profiles", covers=["profiles.Profile", "profiles.ConsentEvent", "profiles.ProfileIdentifier"])
