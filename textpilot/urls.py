from django.contrib import admin
from django.urls import include, path, re_path

from textpilot.api import api
from textpilot.integrations.shopify.webhooks import shopify_webhook
from textpilot.web.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("l/", include("textpilot.messaging.link_urls")),
    path("", include("textpilot.events.snippet_urls")),
    path("imports/", include("textpilot.integrations.imports.urls")),
    re_path(r"^webhooks/shopify/(?P<store_slug>[-\w]+)/?$", shopify_webhook, name="shopify_webhook"),
    path("webhooks/", include("textpilot.delivery.urls")),
    path("integrations/", include("textpilot.integrations.shopify.urls")),
    path("admin/", admin.site.urls),
    path("", include("textpilot.delivery.page_urls")),
    path("", include("textpilot.web.urls")),
]
