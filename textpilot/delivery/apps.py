from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "textpilot.delivery"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.delivery import service

        privacy.register(
            "delivery", covers=["delivery.Message", "delivery.DeliveryAttempt", "delivery.DeliveryReport", "delivery.SimDelivery"],
            export=lambda store, ids: {"messages": service.export_for_profiles(store, ids)},
            erase=service.redact_for_profiles, repoint=service.reassign_profile,
        )
        privacy.declare_not_personal("delivery.Sender", "the merchant's own numbers that texts are sent from")
