"""Dashboard pages of the Shopify connector, mounted under /integrations/."""
from django.urls import path

from textpilot.integrations.shopify import views

app_name = "shopify"

urlpatterns = [
    path("shopify/", views.shopify, name="page"),
    path("shopify/connect/", views.shopify_connect, name="connect"),
    path("shopify/disconnect/", views.shopify_disconnect, name="disconnect"),
    path("shopify/backfill/", views.backfill_start, name="backfill_start"),
    path("shopify/backfill/<int:job_id>/", views.backfill_progress, name="backfill_progress"),
    path("shopify/backfill/<int:job_id>/resume/", views.backfill_resume, name="backfill_resume"),
    path("shopify/deliveries/<int:delivery_id>/retry/", views.delivery_retry, name="delivery_retry"),
    path("shopify/data-requests/<int:delivery_id>/export/", views.data_request_export, name="data_request_export"),
]
