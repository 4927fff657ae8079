from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "textpilot.integrations.shopify"
    label = "shopify"
    verbose_name = "Shopify"
