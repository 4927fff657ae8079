"""Mounted at /webhooks/twilio/ by textpilot/delivery/urls.py."""
from django.urls import re_path

from textpilot.delivery.providers.twilio import webhooks

urlpatterns = [
    re_path(r"^(?P<store_slug>[-\w]+)/status/?$", webhooks.status_callback, name="twilio_status"),
    re_path(r"^(?P<store_slug>[-\w]+)/inbound/?$", webhooks.inbound_message, name="twilio_inbound"),
]
