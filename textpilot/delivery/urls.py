"""Provider webhooks, mounted at /webhooks/ (textpilot/urls.py): one generic view per kind
for every provider (webhooks.py). `status` and `dlr` are older names of `receipt`, kept
because they are in use: the dispatcher builds …/status?mid=… status callbacks and Kannel
configurations carry …/dlr."""
from django.urls import re_path

from textpilot.delivery import webhooks

_PREFIX = r"^(?P<provider>[a-z][a-z0-9_]*)/(?P<store_slug>[-\w]+)/"

urlpatterns = [
    re_path(_PREFIX + r"(?:receipt|status|dlr)/?$", webhooks.receipt_webhook, name="provider_receipt_webhook"),
    re_path(_PREFIX + r"inbound/?$", webhooks.inbound_webhook, name="provider_inbound_webhook"),
]
