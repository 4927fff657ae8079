"""Structured logging: structlog renders stdlib log records as key=value (console) or JSON.

Everything goes through one handler on the root logger. Fields passed to a stdlib logger as
`extra={...}` are kept (ExtraAdder), so `logger.info("x", extra={"n": 1})` and
`structlog.get_logger().info("x", n=1)` print the same line."""
import structlog

# Django's request loggers attach the HttpRequest itself as `extra["request"]`; its repr
# carries the query string (tokens, e-mail addresses), so it is never rendered.
_UNLOGGED_EXTRA = ("request",)


def _drop_unlogged_extra(logger, method_name, event_dict):
    for key in _UNLOGGED_EXTRA:
        event_dict.pop(key, None)
    return event_dict


def build_logging_config(level: str, fmt: str) -> dict:
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                # Only records from stdlib loggers pass this chain (structlog's own events
                # already carry their fields), so that is where `extra` is picked up.
                "foreign_pre_chain": [*shared, structlog.stdlib.ExtraAdder(), _drop_unlogged_extra],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Huey's consumer adds a handler of its own to "huey" unless one is there
            # already; with ours only on root, every worker line was printed twice.
            "huey": {"handlers": ["console"], "level": level, "propagate": False},
        },
    }
