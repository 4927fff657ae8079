"""Short links, mounted at /l/ by textpilot/urls.py."""
from django.urls import path

from textpilot.messaging.link_views import follow_short_link

urlpatterns = [
    path("<str:code>", follow_short_link, name="short_link"),
]
