from textpilot.delivery.providers.sim.provider import SimProvider  # noqa: F401 - registers "sim"
