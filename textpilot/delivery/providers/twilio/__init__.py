"""Twilio: REST sending (provider.py) and reading its signed webhooks (webhooks.py, signatures.py)."""
from textpilot.delivery.providers.twilio.provider import TwilioProvider  # noqa: F401 - registers "twilio"
