"""Limit/offset pages for the API with bounded parameters: django-ninja's own pagination takes
any integer, and an offset past 2^63 reached the database as an overflow (a 500). The bounds
are common/inputs.py's (PageLimit, PageOffset)."""
from ninja import Schema
from ninja.pagination import LimitOffsetPagination

from textpilot.common.inputs import PageLimit, PageOffset

DEFAULT_PAGE_LIMIT = 100


class BoundedLimitOffset(LimitOffsetPagination):
    class Input(Schema):
        limit: PageLimit = DEFAULT_PAGE_LIMIT
        offset: PageOffset = 0
