"""Twilio: REST sending (provider.py) and its signed webhooks (webhooks.py, urls.py)."""
from textpilot.delivery.providers.twilio.provider import TwilioProvider  # noqa: F401 - registers "twilio"
