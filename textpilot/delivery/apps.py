from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "textpilot.delivery"
    label = "delivery"
    verbose_name = "Delivery"
