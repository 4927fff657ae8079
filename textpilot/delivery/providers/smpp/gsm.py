"""GSM 03.38 (3GPP TS 23.038) default alphabet as SMPP carries it with data_coding 0:
unpacked septets, one byte per septet, extension characters as ESC (0x1B) + code.

Packing septets into 7-bit octets is the SMSC's job on the air interface; over SMPP the
usual contract is one octet per septet, which is also what makes the UDH of a
concatenated part simple to prepend. The character sets must agree with
`textpilot.messaging.encoding` (the segment counter): a test checks that they do.
"""
from __future__ import annotations

ESCAPE = 0x1B

# The basic table in code order; "\x1b" stands at 0x1B, the escape to the extension table.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC_TABLE) == 128
_EXTENSION_TABLE = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
                    "|": 0x40, "€": 0x65}

_ENCODE = {char: bytes([code]) for code, char in enumerate(_BASIC_TABLE) if code != ESCAPE}
_ENCODE.update({char: bytes([ESCAPE, code]) for char, code in _EXTENSION_TABLE.items()})
_DECODE_EXTENSION = {code: char for char, code in _EXTENSION_TABLE.items()}

BASIC_CHARACTERS = frozenset(_BASIC_TABLE) - {"\x1b"}
EXTENSION_CHARACTERS = frozenset(_EXTENSION_TABLE)


def encode(text: str) -> bytes:
    """`text` as unpacked GSM-7 septets; UnicodeEncodeError names a character outside GSM-7."""
    try:
        return b"".join(_ENCODE[char] for char in text)
    except KeyError as exc:
        position = next(i for i, char in enumerate(text) if char not in _ENCODE)
        raise UnicodeEncodeError("gsm03.38", text, position, position + 1, f"{exc.args[0]!r} is not in GSM-7") from None


def decode(data: bytes) -> str:
    """Unpacked septets back to text. An unknown extension code decodes as its basic-table
    character (what TS 23.038 tells a receiving phone to do); a trailing ESC is dropped."""
    out = []
    escaped = False
    for byte in data:
        code = byte & 0x7F
        if escaped:
            out.append(_DECODE_EXTENSION.get(code, _BASIC_TABLE[code] if code != ESCAPE else " "))
            escaped = False
        elif code == ESCAPE:
            escaped = True
        else:
            out.append(_BASIC_TABLE[code])
    return "".join(out)
