"""How a text is encoded on the air and how many SMS segments (billing units) it takes.

GSM-7 (3GPP TS 23.038 default alphabet): 160 septets in a single message, 153 per part of a
concatenated one (the 6-byte UDH takes 7 septets). Characters of the extension table are sent
as ESC + code, so they take 2 septets, and the pair is never split across parts.

Any character outside GSM-7 switches the whole message to UCS-2 (UTF-16 on the wire): 70 units
single, 67 per part; a character outside the BMP is a surrogate pair (2 units) that is never
split either.

`count_segments` is on the preview and send paths (once per rendered message), so it is built
for speed: the character set is checked and counted in C (see the byte tables below), and the
text is only walked character by character for the rare long message whose segment count
depends on where a double-width character falls.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from typing import NamedTuple

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The longest text we send: providers refuse more (Twilio: 1,600 characters), and a text that
# long is already 11 GSM-7 or 24 UCS-2 segments.
MAX_BODY_CHARACTERS = 1600

GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT = 160, 153
UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT = 70, 67

# The default alphabet, in code order. 0x1B is ESC: it is the prefix of extension characters,
# not a character of its own, so a literal U+001B in a text cannot be sent as GSM-7.
GSM7_BASIC_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table (single shift): sent as ESC + code, so 2 septets each.
GSM7_EXTENSION_CHARACTERS = frozenset("\f^{}\\[]~|€")
GSM7_CHARACTERS = GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS

# Deciding GSM-7 and counting extension characters happens in C: the text is encoded to one
# byte per character (plain ASCII as itself; anything else through a charmap codec whose table
# puts the basic characters at 1-127 and the extension ones at 128-137), then deleting the
# basic bytes leaves only the extension bytes, and deleting those leaves the strangers.
_ASCII_BASIC_BYTES = bytes(sorted(ord(c) for c in GSM7_BASIC_CHARACTERS if ord(c) < 128))
_ASCII_EXTENSION_BYTES = bytes(sorted(ord(c) for c in GSM7_EXTENSION_CHARACTERS if ord(c) < 128))
_CHARMAP_BASIC = "".join(sorted(GSM7_BASIC_CHARACTERS))
_CHARMAP_EXTENSION = "".join(sorted(GSM7_EXTENSION_CHARACTERS))
# CPython builds its fast EncodingMap only for a full 256-entry table starting with U+0000
# and without duplicates: slot 0 and the slots after the extension characters are filled
# with U+0000 and private-use characters, whose bytes are then treated as outside GSM-7.
_CHARMAP_FILLER = "".join(chr(0xE000 + i) for i in range(255 - len(_CHARMAP_BASIC) - len(_CHARMAP_EXTENSION)))
_GSM7_CHARMAP = codecs.charmap_build("\x00" + _CHARMAP_BASIC + _CHARMAP_EXTENSION + _CHARMAP_FILLER)
_CHARMAP_BASIC_BYTES = bytes(range(1, 1 + len(_CHARMAP_BASIC)))
_CHARMAP_EXTENSION_BYTES = bytes(range(1 + len(_CHARMAP_BASIC), 1 + len(_CHARMAP_BASIC) + len(_CHARMAP_EXTENSION)))

_NON_GSM7_RE = re.compile("[^" + "".join(re.escape(c) for c in sorted(GSM7_CHARACTERS)) + "]")
_EXTENSION_RE = re.compile("[" + re.escape(_CHARMAP_EXTENSION) + "]")
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")


class SegmentCount(NamedTuple):
    encoding: str  # GSM7 or UCS2
    characters: int  # Unicode code points
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int  # 0 for an empty text
    non_gsm_characters: tuple[str, ...]  # distinct, in order of first appearance


def count_segments(text: str) -> SegmentCount:
    """Encoding, length and number of SMS segments of `text` as it would be sent."""
    if text.isascii():
        return _count_one_byte_per_character(text, text.encode("ascii"), _ASCII_BASIC_BYTES, _ASCII_EXTENSION_BYTES)
    try:
        encoded = codecs.charmap_encode(text, "strict", _GSM7_CHARMAP)[0]
    except UnicodeEncodeError:
        return _ucs2_count(text)
    return _count_one_byte_per_character(text, encoded, _CHARMAP_BASIC_BYTES, _CHARMAP_EXTENSION_BYTES)


def is_gsm7(text: str) -> bool:
    return _NON_GSM7_RE.search(text) is None


def split_segments(text: str) -> list[str]:
    """The parts of `text` exactly as they would be sent: one part if it fits a single
    message, else parts of at most 153 septets (GSM-7) or 67 UTF-16 units (UCS-2). A part
    never ends inside an escape pair or a surrogate pair; the parts join back to `text`."""
    if not text:
        return []
    count = count_segments(text)
    if count.segments == 1:
        return [text]
    if count.encoding == GSM7:
        ends = _part_ends(len(text), _positions(_EXTENSION_RE, text), GSM7_PART_LIMIT)
    else:
        ends = _part_ends(len(text), _positions(_ASTRAL_RE, text), UCS2_PART_LIMIT)
    starts = [0, *ends[:-1]]
    return [text[start:end] for start, end in zip(starts, ends)]


def _segments(text: str, units: int, has_doubles: bool, single_limit: int, part_limit: int, doubles: re.Pattern) -> int:
    if units <= single_limit:
        return 1 if units else 0
    fewest = -(-units // part_limit)
    if not has_doubles:
        return fewest
    # A part only ends early when a double-width character would straddle the limit, so it
    # wastes at most one unit: the count lies between units/limit and units/(limit - 1).
    # Only when those differ do we walk the text.
    if fewest == -(-units // (part_limit - 1)):
        return fewest
    return len(_part_ends(len(text), _positions(doubles, text), part_limit))


def _count_one_byte_per_character(text: str, encoded: bytes, basic: bytes, extension: bytes) -> SegmentCount:
    rest = encoded.translate(None, basic)
    if not rest:
        units, has_extension = len(text), False
    elif not rest.translate(None, extension):
        units, has_extension = len(text) + len(rest), True
    else:  # a character outside GSM-7 that still fit one byte (a backtick, a tab, NUL…)
        return _ucs2_count(text)
    segments = _segments(text, units, has_extension, GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT, _EXTENSION_RE)
    return SegmentCount(GSM7, len(text), units, segments, ())


def _ucs2_count(text: str) -> SegmentCount:
    units = len(text.encode("utf-16-le", "surrogatepass")) >> 1
    segments = _segments(text, units, units != len(text), UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT, _ASTRAL_RE)
    return SegmentCount(UCS2, len(text), units, segments, tuple(dict.fromkeys(_NON_GSM7_RE.findall(text))))


def _positions(pattern: re.Pattern, text: str) -> list[int]:
    return [match.start() for match in pattern.finditer(text)]


def _part_ends(length: int, double_positions: list[int], limit: int) -> list[int]:
    """End index of each part when characters at `double_positions` (sorted) weigh 2 units
    and all others 1. Greedy filling is optimal for an ordered sequence; a double-width
    character that would straddle the limit starts the next part instead."""
    doubles = set(double_positions)
    ends = []
    start = 0
    while start < length:
        end = min(start + limit, length)
        weight = (end - start) + bisect_left(double_positions, end) - bisect_left(double_positions, start)
        while weight > limit:
            end -= 1
            weight -= 2 if end in doubles else 1
        ends.append(end)
        start = end
    return ends


# --- Replacements for characters that would switch a text to UCS-2 --------------------------

# Typographic characters that editors and phones insert on their own; each has a GSM-7 twin.
_PUNCTUATION_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u02bc": "'", "\u2039": "'", "\u203a": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2022": "-", "\u00b7": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u3000": " ", "\t": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    "\u2122": "TM", "\u00ae": "(R)", "\u00a9": "(C)", "\u00d7": "x", "\u2044": "/",
    "\u00a2": "c", "\u2190": "<-", "\u2192": "->",
}


@lru_cache(maxsize=4096)
def gsm7_replacement(character: str) -> str | None:
    """A GSM-7 stand-in for one non-GSM character, or None when there is no good one
    (emoji, CJK, Arabic…). Accented letters fall back to their base letter (ê -> e)."""
    if character in GSM7_CHARACTERS:
        return character
    if character in _PUNCTUATION_REPLACEMENTS:
        return _PUNCTUATION_REPLACEMENTS[character]
    decomposed = unicodedata.normalize("NFKD", character)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if stripped and stripped != character and is_gsm7(stripped):
        return stripped
    return None


def suggest_replacements(text: str) -> dict[str, str]:
    """{non-GSM character: GSM-7 replacement} for every non-GSM character in `text` that has one."""
    suggestions = {}
    for character in count_segments(text).non_gsm_characters:
        replacement = gsm7_replacement(character)
        if replacement is not None:
            suggestions[character] = replacement
    return suggestions


def replace_non_gsm(text: str) -> str:
    """`text` with every suggested replacement applied (characters without one stay)."""
    suggestions = suggest_replacements(text)
    if not suggestions:
        return text
    return text.translate(str.maketrans(suggestions))
