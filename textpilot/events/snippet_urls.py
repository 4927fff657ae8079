"""The storefront snippet and its public intake, outside the bearer-key API at /api/v1/."""
from django.urls import path

from textpilot.events import snippet

app_name = "snippet"

urlpatterns = [
    path("js/textpilot.js", snippet.snippet_js, name="js"),
    path("api/public/v1/track", snippet.track, name="track"),
    path("api/public/v1/identify", snippet.identify, name="identify"),
]
