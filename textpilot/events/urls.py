"""Dashboard pages of the events domain, mounted under /integrations/."""
from django.urls import path

from textpilot.events import views

app_name = "events"

urlpatterns = [
    path("shopify/", views.shopify, name="shopify"),
    path("shopify/connect/", views.shopify_connect, name="shopify_connect"),
    path("shopify/backfill/", views.backfill_start, name="shopify_backfill_start"),
    path("shopify/backfill/<int:job_id>/", views.backfill_progress, name="shopify_backfill_progress"),
    path("shopify/backfill/<int:job_id>/resume/", views.backfill_resume, name="shopify_backfill_resume"),
    path("shopify/deliveries/<int:delivery_id>/retry/", views.delivery_retry, name="shopify_delivery_retry"),
    path("shopify/data-requests/<int:delivery_id>/export/", views.data_request_export, name="shopify_data_request_export"),
]
