"""Template helpers of the delivery pages: the colour of a status pill."""
from django import template

register = template.Library()

# Green once it arrived, blue on its way, amber when it needs a look, red when it failed.
STATUS_PILL = {
    "delivered": "pill-ok", "received": "pill-ok",
    "sent": "pill-info", "sending": "pill-info",
    "queued": "pill-muted",
    "unknown": "pill-warn", "suppressed": "pill-warn",
    "undelivered": "pill-bad", "failed": "pill-bad",
}


@register.filter
def status_pill(status: str) -> str:
    return STATUS_PILL.get(str(status), "pill-muted")


ATTEMPT_PILL = {"accepted": "pill-ok", "transient": "pill-warn", "permanent": "pill-bad", "unknown": "pill-warn"}


@register.filter
def attempt_pill(outcome: str) -> str:
    return ATTEMPT_PILL.get(str(outcome), "pill-muted")


@register.filter
def pretty_json(value) -> str:
    """Request and response payloads of a provider call, indented for reading."""
    import json

    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
