from textpilot.delivery.providers.smpp.provider import SmppProvider  # noqa: F401 - registers "smpp"
