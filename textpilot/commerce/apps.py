from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "textpilot.commerce"
    label = "commerce"
    verbose_name = "Commerce"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.commerce import predictions, service
        from textpilot.profiles import stats_slot

        privacy.register(
            "commerce", covers=["commerce.Order", "commerce.OrderLine", "commerce.Checkout", "commerce.CustomerStats",
                                 "commerce.CustomerPrediction"],
            export=service.export_for_profiles, erase=service.redact_for_profiles, repoint=service.reassign_profile,
        )
        privacy.declare_not_personal("commerce.Product", "the store's catalogue: its external ids are product ids")
        privacy.declare_not_personal("commerce.StoreClvModel", "store-wide model parameters and counts, about no one person")
        # Profile API output carries the customer's stats and CLV prediction, read from commerce's tables.
        stats_slot.provide(predictions.stats_with_predictions)
