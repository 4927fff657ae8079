"""Short links: every http(s) link of a marketing text is sent as `https://<store domain>/l/<code>`.

Why: a short link costs fewer characters (often a whole segment less), and because each link
belongs to one message, a click names the person and the text that brought them
(a `clicked_link` event, the base of click attribution).

- `short_link_base(store)` — where a store's short links live: `https://<store.domain>/l/`,
  else `TEXTPILOT_PUBLIC_URL` + `/l/` (the address this installation answers on, scheme and
  port included, so a link works even without a store domain), else None: links stay as
  written and the preview says so.
- `plan_links(text, base, codes)` rewrites a text for sending with a new code per distinct
  URL and says which (url, code) pairs to store; `store_links(store, rows)` then writes them
  in one statement, after the messages they name (delivery's send paths, one text or a chunk
  of thousands, call both in the transaction that creates the messages). A code someone
  already has is replaced and reported, so the caller puts the new one in the body.
  Transactional texts keep their links: an order's tracking link is expected to be the
  carrier's own address, it isn't marketing to attribute, and it must keep working however
  long the customer keeps the text.
- `create_tracked_link(store, url, origin=, label=)` — a link without a message (a QR code,
  a social bio link): clicks are counted, but name no person.
- `preview_short_links(store, text)` puts a placeholder code of the real length in place of
  each link, so the preview counts exactly the characters that will be sent.
- Only `http://` and `https://` links are shortened, so a short link can never lead to a
  `javascript:` or `data:` address; `www.example.com` without a scheme is sent as written.
- Clicks: `record_click` (called by link_views) counts a human click and records the event.
"""
from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from textpilot.common import hooks
from textpilot.common.bulk_write import insert_rows
from textpilot.common.errors import FieldError
from textpilot.messaging.models import LinkOrigin, ShortLink
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)

SHORT_LINK_PATH = "/l/"
# Letters and digits only: URL-safe, and no trailing "-" or "_" that a phone's link detector
# might leave out of the link. 62^7 ≈ 3.5e12 codes: a collision is rare and simply retried.
CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7
CODE_RE = re.compile(rf"^[A-Za-z0-9]{{{CODE_LENGTH}}}$")
PLACEHOLDER_CODE = "X" * CODE_LENGTH
_CODE_ATTEMPTS = 8
# Random bytes to letters in C (bytes.translate): 248 = 4 × 62, so each letter is equally
# likely; the 8 bytes above are dropped. ~1 µs a code instead of ~9 with secrets.choice.
_CODE_BYTES = bytes(ord(CODE_ALPHABET[b % len(CODE_ALPHABET)]) for b in range(256))
_CODE_REJECTED = bytes(range(4 * len(CODE_ALPHABET), 256))
MAX_LABEL = 100

# A link as people type it in a text; trailing punctuation belongs to the sentence.
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}*"

# Clicks on the same link closer together than this are one click (a double tap, a browser
# that opens the page twice): one event and one count. Later clicks are new clicks.
DOUBLE_CLICK_WINDOW = timedelta(seconds=30)
CLICK_EVENT = "clicked_link"


@dataclass(frozen=True)
class FoundLink:
    start: int
    end: int
    url: str


def find_links(text: str) -> list[FoundLink]:
    """Every link in `text` as a phone would show it (with or without a scheme)."""
    found = []
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if url:
            found.append(FoundLink(match.start(), match.start() + len(url), url))
    return found


def short_link_base(store: Store) -> str | None:
    host = _domain_host(store.domain)
    if host:
        return f"https://{host}{SHORT_LINK_PATH}"
    public = (getattr(settings, "TEXTPILOT_PUBLIC_URL", "") or "").strip().rstrip("/")
    parts = _split(public) if public else None
    if parts and parts.scheme in ("http", "https") and parts.hostname:
        return public + SHORT_LINK_PATH
    return None


def is_short_link(url: str, base: str | None) -> bool:
    """Is `url` already one of this store's short links (e.g. typed into a template)?"""
    if not base:
        return False
    parts, base_parts = _split(url if "://" in url else "http://" + url), _split(base)
    return bool(parts and base_parts) and (parts.hostname, _port(parts)) == (base_parts.hostname, _port(base_parts)) \
        and parts.path.startswith(base_parts.path)


def can_shorten(url: str, base: str | None) -> bool:
    """An absolute http(s) link to a real host that isn't already short."""
    parts = _split(url)
    return bool(parts and parts.scheme in ("http", "https") and parts.hostname) and not is_short_link(url, base)


# A campaign's texts carry the same few links: splitting each URL once per send is the
# costliest step of shortening (~5 µs of urlsplit a link).
_shortenable = lru_cache(maxsize=4096)(can_shorten)


def long_links(store: Store, text: str) -> list[str]:
    """Links of `text` that are sent at their full length (not short links of this store)."""
    base = short_link_base(store)
    return [link.url for link in find_links(text) if not is_short_link(link.url, base)]


def preview_short_links(store: Store, text: str) -> str:
    """`text` as a marketing send will shorten it, with a placeholder code of the real length."""
    base = short_link_base(store)
    return _rewrite(text, base, lambda url: base + PLACEHOLDER_CODE) if base else text


def new_codes(count: int) -> list[str]:
    """`count` distinct random codes (letters and digits, CODE_LENGTH each)."""
    codes: dict[str, None] = {}
    while len(codes) < count:
        wanted = (count - len(codes)) * CODE_LENGTH
        letters = secrets.token_bytes(wanted + wanted // 16 + 16).translate(_CODE_BYTES, _CODE_REJECTED).decode("ascii")
        for start in range(0, len(letters) - CODE_LENGTH + 1, CODE_LENGTH):
            codes[letters[start:start + CODE_LENGTH]] = None
    return list(codes)[:count]


def plan_links(text: str, base: str | None, codes: Iterator[str]) -> tuple[str, list[tuple[str, str]]]:
    """`text` with each shortenable link replaced by `base` + a code from `codes` (one per
    distinct URL), and the (url, code) pairs to store for it."""
    if not base or "://" not in text:
        return text, []
    chosen: dict[str, str] = {}

    def replace(url: str) -> str:
        if url not in chosen:
            chosen[url] = next(codes)
        return base + chosen[url]

    return _rewrite(text, base, replace), list(chosen.items())


def store_links(store_id: int, rows: Sequence[tuple[int | None, int | None, str, str]], *, now: datetime,
                origin: str = LinkOrigin.MESSAGE, origin_id: int | None = None, label: str = "") -> dict[str, str]:
    """Write links given as (message_id, profile_id, url, code) in one INSERT per attempt.
    A code that is already taken (62^7 codes: rare, but it happens in millions) gets a new
    one; returns {taken code: its replacement} so the caller can fix the texts."""
    replaced: dict[str, str] = {}  # the code a row came with -> the one it was stored with
    pending = [(row, row[3]) for row in rows]
    for _ in range(_CODE_ATTEMPTS):
        stored = set(insert_rows(
            ShortLink, ("message_id", "profile_id", "target_url", "code"), [row for row, _ in pending],
            conflict=("code",), returning="code",
            constants={"store_id": store_id, "origin": origin, "origin_id": origin_id, "label": label, "created_at": now,
                       "click_count": 0},
        ))
        pending = [(row, first) for row, first in pending if row[3] not in stored]
        if not pending:
            return replaced
        log.warning("links.code_collision", codes=len(pending))
        pending = [((message_id, profile_id, url, new), first)
                   for ((message_id, profile_id, url, _), first), new in zip(pending, new_codes(len(pending)))]
        replaced.update({first: row[3] for row, first in pending})
    raise RuntimeError(f"no free short-link code after {_CODE_ATTEMPTS} attempts")


def create_tracked_link(store: Store, url: str, *, origin: str = LinkOrigin.SOCIAL, label: str = "",
                        origin_id: int | None = None) -> ShortLink:
    """A link of no message (a social bio, a QR code on a counter): the redirect counts its
    clicks like any other, but they name no person."""
    if origin not in LinkOrigin.values or origin == LinkOrigin.MESSAGE:
        raise FieldError(f"origin must be one of {', '.join(o for o in LinkOrigin.values if o != LinkOrigin.MESSAGE)}", field="origin")
    url = (url or "").strip()
    if not can_shorten(url, short_link_base(store)):
        raise FieldError("target_url must be an absolute http(s) link that is not already a short link", field="target_url")
    label = (label or "").strip()
    if len(label) > MAX_LABEL:
        raise FieldError(f"label takes at most {MAX_LABEL} characters", field="label")
    [code] = new_codes(1)
    with transaction.atomic():
        code = store_links(store.pk, [(None, None, url, code)], now=timezone.now(), origin=origin, origin_id=origin_id,
                           label=label).get(code, code)
    log.info("links.created", store=store.slug, code=code, origin=origin)
    return ShortLink.objects.get(code=code)


def find_link(code: str) -> ShortLink | None:
    if not CODE_RE.match(code or ""):
        return None
    return ShortLink.objects.select_related("store", "profile").filter(code=code).first()


def record_click(link: ShortLink) -> bool:
    """Count a human click and record a `clicked_link` event for the recipient; False when
    it repeats a click less than DOUBLE_CLICK_WINDOW ago (nothing recorded then)."""
    from textpilot.events import service as events

    now = timezone.now()
    with transaction.atomic():
        # One conditional UPDATE decides: two requests racing can't both count.
        counted = ShortLink.objects.filter(pk=link.pk).filter(
            Q(last_clicked_at__isnull=True) | Q(last_clicked_at__lte=now - DOUBLE_CLICK_WINDOW)
        ).update(click_count=F("click_count") + 1, last_clicked_at=now, first_clicked_at=Coalesce(F("first_clicked_at"), now))
        if not counted:
            return False
        clicks = ShortLink.objects.filter(pk=link.pk).values_list("click_count", flat=True).get()
        profile = _current_profile(link.profile)
        if profile is not None:
            events.record_event(
                link.store, profile, CLICK_EVENT,
                {"url": link.target_url, "message_id": link.message_id, "link_code": link.code},
                occurred_at=now, idempotency_key=f"{CLICK_EVENT}:{link.code}:{clicks}", source="short_link",
            )
        hooks.link_clicked.fire(link.store_id, [hooks.LinkClicked(link.pk, link.message_id, link.profile_id, now)])
    log.info("links.clicked", store=link.store.slug, code=link.code, message_id=link.message_id, clicks=clicks)
    return True


def redact_for_profiles(erasure) -> int:
    """Erase request: a target URL may carry personal data (a checkout token, an email in a
    query string). The links stop resolving; click counts stay as anonymous figures."""
    return ShortLink.objects.filter(store=erasure.store, profile_id__in=erasure.profile_ids).update(target_url="")


def reassign_profile(store: Store, source_id: int, target_id: int) -> int:
    """Profile merge: clicks on the merged profile's links count for the survivor."""
    return ShortLink.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)


def export_for_profiles(store: Store, profile_ids: list[int]) -> dict:
    return {"links": [
        {"target_url": link.target_url, "created_at": link.created_at, "clicks": link.click_count,
         "first_clicked_at": link.first_clicked_at, "last_clicked_at": link.last_clicked_at}
        for link in ShortLink.objects.filter(store=store, profile_id__in=profile_ids).order_by("created_at", "id")
    ]}


# --- helpers -----------------------------------------------------------------------------

def _rewrite(text: str, base: str, replace: Callable[[str], str]) -> str:
    pieces, cursor = [], 0
    for link in find_links(text):
        if _shortenable(link.url, base):
            pieces += [text[cursor:link.start], replace(link.url)]
            cursor = link.end
    return "".join(pieces) + text[cursor:]


def _current_profile(profile):
    """Clicks of a merged profile belong to the profile it was merged into."""
    seen = set()
    while profile is not None and profile.merged_into_id and profile.pk not in seen:
        seen.add(profile.pk)
        profile = profile.merged_into
    return profile


def _domain_host(domain: str) -> str:
    """'Acme.example', 'https://acme.example/' → 'acme.example' (with a port if one is given)."""
    domain = (domain or "").strip()
    if not domain:
        return ""
    parts = _split(domain if "://" in domain else "https://" + domain)
    if not parts or not parts.hostname:
        return ""
    try:  # "bücher.example" as xn--bcher-kva.example: a non-GSM letter would make every text UCS-2
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return host + (f":{parts.port}" if parts.port else "")


def _split(url: str):
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
        return parts
    except ValueError:  # "http://[::1", "http://host:99999"
        return None


def _port(parts) -> int | None:
    """The explicit port, None for the scheme's default (http://a.example/l/… typed by hand
    is still the https short link)."""
    return None if parts.port in (None, 80, 443) else parts.port
