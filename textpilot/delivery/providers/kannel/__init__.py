from textpilot.delivery.providers.kannel.provider import KannelProvider  # noqa: F401 - registers "kannel"
