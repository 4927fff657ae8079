"""Finding profiles by what a person types: a name, part of an email, an external id, a phone.

Every word of the query must appear (case-insensitively, anywhere) in the first name, last
name, email or external id, so "Samuel Anderson", "anderson sam" and "shopify-7001" all find
their profile. A query made only of digits and phone punctuation ("(415) 555-0103") also
matches the phone numbers that contain its digits.

Index: on PostgreSQL a trigram GIN index on each of UPPER(first_name), UPPER(last_name),
UPPER(email), UPPER(external_id) and phone (`profile_search_*_trgm`, profiles migration
0009, extension pg_trgm) — exactly the expressions Django's `icontains` and `contains`
compile to — so a word of three or more characters is answered by bitmap index scans
(an OR across the fields, an AND across the words) instead of reading every profile of every
store; shorter words fall back to a scan, which they would need anyway. Their cost, measured
on 200,000 demo profiles: 8 s to build the five after a bulk load (seed_demo drops and
rebuilds them) and 32 MB beside a 56 MB table; rows written later go to GIN's pending list. SQLite has no substring index: a single-machine store scans its own
profiles, which at its size (tens of thousands) takes milliseconds.
"""
import re

from django.db.models import Q

MAX_WORDS = 6  # beyond this a query is a paste, not a search; the rest is ignored
_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")
_TEXT_FIELDS = ("first_name", "last_name", "email", "external_id")


def profile_match(query: str) -> Q | None:
    """The filter for `query`, or None for a blank one."""
    query = query.replace("\x00", "").strip()  # stored text never holds a NUL; PostgreSQL refuses it in a query
    words = query.split()[:MAX_WORDS]
    if not words:
        return None
    match = Q()
    for word in words:
        match &= _any_text_field(word)
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 3 and _PHONE_LIKE.match(query):
        match |= Q(phone__contains=digits)
    return match


def _any_text_field(word: str) -> Q:
    found = Q()
    for field in _TEXT_FIELDS:
        found |= Q(**{f"{field}__icontains": word})
    return found
