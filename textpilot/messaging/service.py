"""Message rules before anything is sent: what a text will look like, cost and risk.

`preview_message` answers the campaign editor's "how many segments, how much, anything wrong?"
for a body that may hold merge tags (rendered with sample values of typical length).
`validate_message_template` is the save-time check of a template against what a send knows.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from textpilot.common.errors import FieldError
from textpilot.messaging import links
from textpilot.messaging.encoding import (
    GSM7_SINGLE_LIMIT,
    MAX_BODY_CHARACTERS,
    UCS2,
    UCS2_SINGLE_LIMIT,
    SegmentCount,
    count_segments,
    gsm7_replacement,
)
from textpilot.messaging.merge_context import CONTEXT_KINDS, MERGE_TAGS, sample_context
from textpilot.messaging.pricing import price_table
from textpilot.messaging.templates import TemplateInfo, TemplateRenderError, compile_template, validate_template
from textpilot.stores.models import Store

MESSAGE_KINDS = ("marketing", "transactional")
CHANNELS = ("sms", "mms")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")

# How recipients opt out: the keyword itself in capitals ("Reply STOP", "STOP이라고 응답",
# "أرسل STOP"), or an instruction such as "reply stop" in any case.
_OPT_OUT_KEYWORD_RE = re.compile(r"(?<![A-Za-z])(?:STOP|STOPALL|UNSUBSCRIBE|OPTOUT)(?![A-Za-z])")
_OPT_OUT_INSTRUCTION_RE = re.compile(r"\b(?:reply|text|send|txt)\s+[\"']?(?:stop|unsubscribe)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MessageWarning:
    code: str
    message: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Preview:
    text: str  # the body with merge tags filled with sample values (marketing links shortened): what was counted
    encoding: str
    characters: int
    units: int
    segments: int
    estimated_cost: Decimal | None  # None when the channel cannot reach the country
    currency: str
    warnings: list[MessageWarning]


def preview_message(store: Store, body: str, kind: str, country: str | None = None, channel: str = "sms") -> Preview:
    kind = _choice(kind, MESSAGE_KINDS, "kind")
    channel = _choice(channel, CHANNELS, "channel")
    country = _clean_country(country, store)
    text = render_sample(store, body)
    if kind == "marketing":
        # Count links as sent: a marketing send shortens them (messaging/links.py).
        text = links.preview_short_links(store, text)
    count = count_segments(text)

    warnings = []
    if count.encoding == UCS2:
        warnings.append(_non_gsm_warning(text, count))
    if kind == "marketing":
        warnings.extend(_marketing_warnings(store, text))
    # Transactional texts keep their links by design (links.py): nothing to suggest there.
    long_links = unshortened_links(store, text) if kind == "marketing" else []
    if long_links:
        warnings.append(_long_links_warning(store, long_links))

    price = price_table().price(country, channel)
    if not price.known_country:
        warnings.append(MessageWarning(
            "price_unknown", f"no price for {country} in the price table: the estimate uses the fallback rate", {"country": country},
        ))
    if price.amount is None:
        estimated_cost = None
        warnings.append(MessageWarning(
            "channel_unavailable", f"{channel.upper()} cannot be sent to {country}; send an SMS instead", {"country": country},
        ))
    else:  # SMS is billed per segment, MMS per message
        estimated_cost = price.amount * count.segments if channel == "sms" else price.amount
    return Preview(text, count.encoding, count.characters, count.units, count.segments, estimated_cost, price.currency, warnings)


def validate_message_template(body: str, context_kind: str) -> TemplateInfo:
    """Save-time check of a template (FieldError/TemplateError naming the field and position)."""
    _clean_body(body)
    return validate_template(body, _choice(context_kind, tuple(CONTEXT_KINDS), "context_kind"), field="body")


def merge_tag_catalog() -> list[dict]:
    return [
        {"tag": path, "description": tag.description, "sample": tag.sample,
         "context_kinds": [kind for kind, tags in CONTEXT_KINDS.items() if path in tags]}
        for path, tag in MERGE_TAGS.items()
    ]


def render_sample(store: Store, body: str) -> str:
    """`body` with every merge tag set to a sample value of typical length."""
    body = _clean_body(body)
    validate_template(body, "all", field="body")
    try:
        return compile_template(body).render(sample_context(store))
    except TemplateRenderError as exc:
        raise FieldError(f"the template cannot be rendered: {exc.reason}", field="body") from None


def unshortened_links(store: Store, text: str) -> list[str]:
    """Links of `text` sent at full length: all of them when the store has nowhere to serve
    short links, else those without a scheme (`www.…`, never shortened)."""
    return links.long_links(store, text)


def _long_links_warning(store: Store, long_links: list[str]) -> MessageWarning:
    counted = f"{len(long_links)} link(s) are counted at their full length ({', '.join(long_links)})"
    if links.short_link_base(store):  # what is left are links written without http(s)://
        advice = "write them with https:// to have them sent as short links that track clicks"
    else:
        advice = "short links on the store’s short-link domain (set one in the store settings) are shorter and track clicks"
    return MessageWarning("link_not_shortened", f"{counted}; {advice}", {"links": long_links})


def has_opt_out_text(text: str) -> bool:
    return bool(_OPT_OUT_KEYWORD_RE.search(text) or _OPT_OUT_INSTRUCTION_RE.search(text))


def _marketing_warnings(store: Store, text: str) -> list[MessageWarning]:
    warnings = []
    brands = [name for name in (store.sender_name, store.name) if name]
    folded = text.casefold()
    if not any(name.casefold() in folded for name in brands):
        warnings.append(MessageWarning(
            "missing_brand",
            f"marketing texts must name the sender: start with \"{store.brand}: \" or add {{{{ store.name }}}}",
            {"brand": store.brand},
        ))
    if not has_opt_out_text(text):
        warnings.append(MessageWarning(
            "missing_opt_out",
            "marketing texts must say how to opt out: add \"Reply STOP to opt out\" or {{ unsubscribe_text }}",
        ))
    return warnings


def _non_gsm_warning(text: str, count: SegmentCount) -> MessageWarning:
    replacements, no_stand_in = {}, []
    for character in count.non_gsm_characters:
        replacement = gsm7_replacement(character)
        if replacement is None:
            no_stand_in.append(character)
        else:
            replacements[character] = replacement
    # What the text would cost in GSM-7: stand-ins applied, the rest removed.
    gsm_text = text.translate(str.maketrans({**replacements, **{c: None for c in no_stand_in}}))
    gsm_segments = count_segments(gsm_text).segments
    names = ", ".join(f"{c} ({unicodedata.name(c, f'U+{ord(c):04X}')})" for c in count.non_gsm_characters)
    message = (
        f"{names} switch{'es' if len(count.non_gsm_characters) == 1 else ''} this text to UCS-2: "
        f"{UCS2_SINGLE_LIMIT} characters per segment instead of {GSM7_SINGLE_LIMIT}"
    )
    if gsm_segments < count.segments:
        message += f": {count.segments} segments instead of {gsm_segments}"
    else:
        message += f" (still {count.segments} segment{'s' if count.segments > 1 else ''} at this length)"
    if replacements:
        message += ". Replace " + ", ".join(f"{c} with {r or '(nothing)'}" for c, r in replacements.items())
    if no_stand_in:
        message += f". No GSM-7 stand-in for {''.join(no_stand_in)}: remove to send as GSM-7"
    return MessageWarning(
        "non_gsm_characters",
        message,
        {
            "characters": list(count.non_gsm_characters),
            "replacements": replacements,
            "segments": count.segments,
            "segments_in_gsm7": gsm_segments,
        },
    )


def _clean_body(body: object) -> str:
    if not isinstance(body, str) or not body.strip():
        raise FieldError("body must be a non-empty text", field="body")
    if len(body) > MAX_BODY_CHARACTERS:
        raise FieldError(f"body has {len(body)} characters; the most is {MAX_BODY_CHARACTERS}", field="body")
    return body


def _choice(value: object, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise FieldError(f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def _clean_country(country: str | None, store: Store) -> str:
    country = country or store.country
    if not isinstance(country, str) or not COUNTRY_RE.match(country):
        raise FieldError("country must be a 2-letter ISO 3166 code", field="country")
    return country.upper()
