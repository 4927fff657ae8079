"""Mounted at /webhooks/kannel/ by textpilot/delivery/urls.py. `status` is the receipt URL the
dispatcher builds for every provider; `dlr` is the same endpoint under Kannel's own name."""
from django.urls import re_path

from textpilot.delivery.providers.kannel import views

urlpatterns = [
    re_path(r"^(?P<store_slug>[-\w]+)/(?:dlr|status)/?$", views.delivery_report, name="kannel_dlr"),
    re_path(r"^(?P<store_slug>[-\w]+)/inbound/?$", views.inbound_message, name="kannel_inbound"),
]
