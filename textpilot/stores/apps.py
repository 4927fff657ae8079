from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "textpilot.stores"
    label = "stores"
    verbose_name = "Stores"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.stores import api_key_cache

        privacy.declare_not_personal("stores.Store", "the merchant's own sender number and support address, not a customer's")
        api_key_cache.connect_signals()
