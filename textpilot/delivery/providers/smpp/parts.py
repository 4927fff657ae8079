"""A text as the submit_sm PDUs that carry it, and deliver_sm payloads back to text.

Parts come from our own splitter (`messaging.encoding.split_segments`, the one that counted
the segments the merchant was shown and billed for): GSM-7 parts of at most 153 septets that
never split an escape pair, UCS-2 parts of at most 67 UTF-16 units that never split a
surrogate pair. A concatenated part starts with a 6-byte User Data Header (esm_class 0x40):
IE 00 (concatenation, 8-bit reference), length 03, reference, total, sequence (from 1).
"""
from __future__ import annotations

import dataclasses

from textpilot.delivery.providers.smpp import gsm
from textpilot.messaging.encoding import GSM7, count_segments, split_segments

DATA_CODING_DEFAULT = 0x00  # GSM 03.38, unpacked
DATA_CODING_LATIN1 = 0x03
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40  # short_message starts with a User Data Header
ESM_CLASS_RECEIPT = 0x04  # deliver_sm is an SMSC delivery receipt
IE_CONCAT_8BIT = 0x00
IE_CONCAT_16BIT = 0x08
MAX_PARTS = 255  # the 8-bit reference IE counts parts in one octet


@dataclasses.dataclass(frozen=True)
class SubmitPart:
    short_message: bytes
    data_coding: int
    esm_class: int


def encode_text(text: str, encoding: str) -> bytes:
    return gsm.encode(text) if encoding == GSM7 else text.encode("utf-16-be", "surrogatepass")


def submit_parts(body: str, reference: int) -> list[SubmitPart]:
    """The PDU payloads of `body`; `reference` (0-255) ties the parts of one text together."""
    encoding = count_segments(body).encoding
    data_coding = DATA_CODING_DEFAULT if encoding == GSM7 else DATA_CODING_UCS2
    texts = split_segments(body)
    if len(texts) == 1:
        return [SubmitPart(encode_text(body, encoding), data_coding, 0)]
    if len(texts) > MAX_PARTS:
        raise ValueError(f"a text of {len(texts)} parts is longer than SMS concatenation allows ({MAX_PARTS})")
    total = len(texts)
    return [
        SubmitPart(bytes([0x05, IE_CONCAT_8BIT, 0x03, reference & 0xFF, total, sequence]) + encode_text(text, encoding),
                   data_coding, ESM_CLASS_UDHI)
        for sequence, text in enumerate(texts, start=1)
    ]


@dataclasses.dataclass(frozen=True)
class Concatenation:
    reference: int
    total: int
    sequence: int


def split_udh(short_message: bytes, esm_class: int) -> tuple[Concatenation | None, bytes]:
    """(concatenation info if any, payload without the UDH) of a received short_message."""
    if not esm_class & ESM_CLASS_UDHI or not short_message:
        return None, short_message
    header_length = short_message[0]
    header, payload = short_message[1:1 + header_length], short_message[1 + header_length:]
    position, concat = 0, None
    while position + 2 <= len(header):
        ie, length = header[position], header[position + 1]
        data = header[position + 2:position + 2 + length]
        if ie == IE_CONCAT_8BIT and length == 3:
            concat = Concatenation(data[0], data[1], data[2])
        elif ie == IE_CONCAT_16BIT and length == 4:
            concat = Concatenation((data[0] << 8) | data[1], data[2], data[3])
        position += 2 + length
    return concat, payload


def decode_payload(payload: bytes, data_coding: int) -> str:
    """Text of a received payload; unknown codings are read as Latin-1 rather than lost."""
    if data_coding == DATA_CODING_UCS2:
        return payload.decode("utf-16-be", "replace")
    if data_coding == DATA_CODING_DEFAULT:
        return gsm.decode(payload)
    return payload.decode("latin-1")
