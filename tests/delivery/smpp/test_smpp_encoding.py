"""The GSM 03.38 encoder, the submit parts and the receipt parser, without a network.
`gsm0338` (an independent implementation of the same table) is the oracle."""
import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from textpilot.delivery.providers.smpp import gsm
from textpilot.delivery.providers.smpp.parts import decode_payload, split_udh, submit_parts
from textpilot.delivery.providers.smpp.receipts import parse_receipt
from textpilot.messaging import encoding

GSM_TEXT = st.text(alphabet=sorted(encoding.GSM7_CHARACTERS), max_size=400)


def test_the_character_sets_agree_with_the_segment_counter():
    assert gsm.BASIC_CHARACTERS == encoding.GSM7_BASIC_CHARACTERS
    assert gsm.EXTENSION_CHARACTERS == encoding.GSM7_EXTENSION_CHARACTERS


@given(GSM_TEXT)
def test_encoding_matches_an_independent_gsm0338_codec_and_round_trips(text):
    assert gsm.encode(text) == text.encode("gsm03.38")
    assert gsm.decode(gsm.encode(text)) == text
    assert len(gsm.encode(text)) == encoding.count_segments(text).units


def test_known_codes():
    assert gsm.encode("@£_€[") == bytes([0x00, 0x01, 0x11, 0x1B, 0x65, 0x1B, 0x3C])
    with pytest.raises(UnicodeEncodeError):
        gsm.encode("héllo ✓")


@given(GSM_TEXT.filter(lambda t: t.strip()))
def test_gsm_parts_fit_and_rejoin(text):
    parts = submit_parts(text, reference=9)
    assert len(parts) == encoding.count_segments(text).segments
    joined = b""
    for number, part in enumerate(parts, start=1):
        concat, payload = split_udh(part.short_message, part.esm_class)
        assert part.data_coding == 0
        if len(parts) > 1:
            assert part.esm_class == 0x40 and part.short_message[:6] == bytes([5, 0, 3, 9, len(parts), number])
            assert len(payload) <= 153 and not payload.endswith(b"\x1b")
        else:
            assert concat is None and part.esm_class == 0 and len(payload) <= 160
        joined += payload
    assert decode_payload(joined, 0) == text


def test_ucs2_parts_never_split_a_surrogate_pair():
    text = "Ünïcödé " + "😀" * 40 + " ok"  # 8 + 80 + 3 = 91 units: a pair straddles unit 67
    parts = submit_parts(text, reference=200)
    assert [p.data_coding for p in parts] == [8, 8]
    payloads = [split_udh(p.short_message, p.esm_class)[1] for p in parts]
    assert all(len(p) <= 134 for p in payloads)
    assert "".join(p.decode("utf-16-be", "strict") for p in payloads) == text


@pytest.mark.parametrize("body, fields", [
    ("id:0A1B sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:hi",
     ("0A1B", "DELIVRD", "delivered", "")),
    ("id:77 sub:001 dlvrd:000 submit date:2501011200 done date:2501011201 stat:UNDELIV err:034 text:stat:DELIVRD",
     ("77", "UNDELIV", "undelivered", "034")),
    ("id:5 stat:EXPIRED err:000", ("5", "EXPIRED", "undelivered", "")),
    ("id:5 stat:REJECTD err:000", ("5", "REJECTD", "undelivered", "")),
    ("id:5 stat:DELETED err:000", ("5", "DELETED", "undelivered", "")),
    ("id:5 stat:ACCEPTD err:000", ("5", "ACCEPTD", "sent", "")),
    ("id:5 stat:ENROUTE err:000", ("5", "ENROUTE", "sent", "")),
    ("id:5 stat:UNKNOWN err:000", ("5", "UNKNOWN", "sent", "")),
])
def test_receipt_bodies(body, fields):
    receipt = parse_receipt(body)
    assert (receipt.provider_message_id, receipt.raw["stat"], receipt.status, receipt.error_code) == fields


def test_receipt_tlvs_win_over_the_text_and_a_receipt_without_an_id_is_none():
    receipt = parse_receipt("id:short stat:ENROUTE", receipted_message_id="full-id", message_state=2)
    assert (receipt.provider_message_id, receipt.status) == ("full-id", "delivered")
    assert parse_receipt("hello there") is None
