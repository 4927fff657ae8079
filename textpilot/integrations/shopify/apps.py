from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "textpilot.integrations.shopify"
    label = "shopify"
    verbose_name = "Shopify"

    def ready(self):
        from textpilot.common import privacy
        from textpilot.integrations.shopify import privacy as shopify_privacy

        privacy.register("shopify", covers=["shopify.WebhookDelivery", "shopify.ShopifyObjectVersion"],
                         erase=shopify_privacy.erase_stored_webhooks)
