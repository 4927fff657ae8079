"""The country of an E.164 number from its first digits, exactly as phonenumbers decides it.

Why: pricing a text and the gate's jurisdiction both need the country of the recipient's
number, and phonenumbers' parse + region lookup costs ~35 µs: a million-recipient campaign
would spend 35 s on it alone, and a per-number cache doesn't help when every number is new.

How, without a second rule set: phonenumbers decides the region from its own metadata
(regular expressions over the national number), and most of those expressions stop looking
at the digits after the first few: `[2-9]\\d{6}` only cares that the remaining digits are
digits. `deciding_digits(code)` reads the expressions phonenumbers consults for a calling
code (parsing: the national prefix and general pattern of the main country; the lookup: the
leading digits of each country sharing the code, or every number-type pattern of the one
without them) and returns how many leading digits of the national number any of them can
look at (plus the length of a national prefix parsing may strip first), or None when an
expression is too complex to bound. Two numbers of the same length
that agree on the calling code and those digits then get the same answer from phonenumbers,
so the answer for one (the prefix padded with zeros) is the answer for all: `shape_of` gives
the memo key. A calling code used by one country needs no digits at all (the lookup returns
that country whenever the number parses, which depends on its length only).

tests/profiles/test_phones.py checks the shortcut against phonenumbers itself on numbers of
every calling code and length."""
from __future__ import annotations

import re
from functools import lru_cache

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

_E164_RE = re.compile(r"\+[1-9][0-9]{1,16}")  # ASCII digits only: phonenumbers takes up to 17
_NUMBER_TYPES = ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
                 "voip", "pager", "uan", "voicemail")

try:  # CPython's regular-expression parser (3.11+); without it every lookup parses the number
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre = _sre_parse = None


def shape_of(e164: str) -> tuple[str, int] | None:
    """(calling code + deciding digits, length) of an E.164 number, or None when the
    shortcut doesn't apply (not plain E.164, an unknown calling code, complex metadata)."""
    if not _E164_RE.fullmatch(e164):
        return None
    for length in (1, 2, 3):  # calling codes are prefix-free: the first known one is it
        code = int(e164[1:1 + length])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            decided = deciding_digits(code)
            if decided is None:
                return None
            depth, prefix_re, prefix_depth = decided
            if prefix_re is not None and prefix_re.match(e164, 1 + length):
                depth += prefix_depth  # parsing may strip it: every later test moves along
            else:
                depth = max(depth, prefix_depth)  # enough digits to know it doesn't match
            return e164[:1 + length + depth], len(e164)
    return None


def representative(shape: tuple[str, int]) -> str:
    """A number of this shape: the prefix padded with zeros (they are never looked at)."""
    prefix, length = shape
    return prefix + "0" * (length - len(prefix))


@lru_cache(maxsize=None)
def deciding_digits(code: int) -> tuple[int, re.Pattern | None, int] | None:
    """(digits the lookup can look at, the national prefix parsing strips, its depth)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) == 1:
        return 0, None, 0
    main = PhoneMetadata.metadata_for_region(regions[0]) if regions else None
    if main is None or _sre_parse is None or main.national_prefix_transform_rule:
        return None  # a transform rule rewrites the leading digits: no fixed positions to reason about
    patterns = [main.general_desc and main.general_desc.national_number_pattern]
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            patterns.append(metadata.leading_digits)
        else:
            patterns += [getattr(getattr(metadata, name), "national_number_pattern", None) for name in _NUMBER_TYPES
                         if getattr(metadata, name) is not None]
    depths = [_pattern_depth(pattern) for pattern in patterns if pattern]
    prefix = main.national_prefix_for_parsing
    prefix_depth = _pattern_depth(prefix) if prefix else 0
    if prefix_depth is None or None in depths:
        return None
    return max(depths, default=0), re.compile(prefix) if prefix else None, prefix_depth


def _pattern_depth(pattern: str) -> int | None:
    """How many leading characters `pattern` can test for more than "is a digit"."""
    try:
        _, depth = _walk(_sre_parse.parse(pattern), 0)
    except (_Unbounded, re.error, TypeError, ValueError):
        return None
    return depth


class _Unbounded(Exception):
    pass


_INFINITE = float("inf")


def _walk(items, start: float) -> tuple[float, int]:
    """(furthest end, depth) of a parsed sequence whose furthest start is `start`."""
    position, depth = start, 0
    for op, arg in items:
        if op == _sre.IN and (arg == [(_sre.CATEGORY, _sre.CATEGORY_DIGIT)] or arg == [(_sre.RANGE, (48, 57))]):
            position += 1  # any digit: tests nothing a number of the right length doesn't have
        elif op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY):
            position += 1
            if position == _INFINITE:
                raise _Unbounded("a test after an unbounded repeat")
            depth = max(depth, int(position))
        elif op == _sre.SUBPATTERN:
            position, inner = _walk(arg[-1], position)
            depth = max(depth, inner)
        elif op == _sre.BRANCH:
            ends = []
            for branch in arg[1]:
                end, inner = _walk(branch, position)
                ends.append(end)
                depth = max(depth, inner)
            position = max(ends)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, sub = arg
            width, inner = _walk(sub, 0)
            if high == _sre.MAXREPEAT:
                if inner:
                    raise _Unbounded("a test inside an unbounded repeat")
                position = _INFINITE
                continue
            if inner:
                if position + high * width == _INFINITE:
                    raise _Unbounded("a test after an unbounded repeat")
                depth = max(depth, int(position + (high - 1) * width + inner))
            position += high * width
        elif op == _sre.AT:
            continue
        else:
            raise _Unbounded(str(op))
    return position, depth
