"""The SMPP provider against a real SMPP 3.4 peer (smpp34's SMSC server) on 127.0.0.1:
what reaches the SMSC byte for byte, and how its answers become outcomes."""
import gsm0338  # noqa: F401 - registers the "gsm03.38" codec, the oracle for what the SMSC received
import pytest
import smpp34
from smpp_fakes import ACCEPT, HOLD_AND_DROP, REJECT, SENDER_NUMBER, free_port, outgoing, send

from textpilot.delivery.providers.base import Outcome
from textpilot.delivery.providers.smpp.parts import split_udh
from textpilot.messaging.encoding import count_segments


def test_a_single_gsm_text_is_accepted_with_the_right_bytes(smsc, make_provider):
    [result] = send(make_provider(), outgoing("Hi Ann @ {shop}_€", message_id=41))

    assert result.outcome == Outcome.ACCEPTED
    assert result.provider_message_id == "smsc-1"
    assert result.response["message_ids"] == ["smsc-1"]
    [submitted] = smsc.submits
    assert submitted.short_message == "Hi Ann @ {shop}_€".encode("gsm03.38")
    assert submitted.short_message.startswith(b"Hi Ann \x00 \x1b(shop\x1b)\x11\x1be")
    assert (submitted.data_coding, submitted.esm_class, submitted.registered_delivery) == (0, 0, 1)
    assert (submitted.destination_addr, submitted.dest_addr_ton, submitted.dest_addr_npi) == ("12125550123", 1, 1)
    assert (submitted.source_addr, submitted.source_addr_ton, submitted.source_addr_npi) == (SENDER_NUMBER[1:], 1, 1)
    [esme] = smsc.esmes
    assert esme.system_id == "textpilot"


def test_a_long_gsm_text_is_concatenated_without_splitting_an_escape_pair(smsc, make_provider):
    # 152 septets, then '€' (2 septets) straddling the 153-septet limit; the same again with '['.
    body = "A" * 152 + "€" + "B" * 150 + "[" + "C" * 96
    assert len(body) == 400 and count_segments(body).segments == 3

    [result] = send(make_provider(), outgoing(body))

    assert result.outcome == Outcome.ACCEPTED
    assert result.response["message_ids"] == ["smsc-1", "smsc-2", "smsc-3"]
    assert result.provider_message_id == "smsc-1"
    headers, payloads = [], []
    for submitted in smsc.submits:
        assert (submitted.esm_class, submitted.data_coding, submitted.registered_delivery) == (0x40, 0, 1)
        headers.append(submitted.short_message[:6])
        payloads.append(split_udh(submitted.short_message, submitted.esm_class)[1])
    reference = headers[0][3]
    assert headers == [bytes([5, 0, 3, reference, 3, n]) for n in (1, 2, 3)]
    assert [len(p) for p in payloads] == [152, 152, 98]
    assert payloads[1].startswith(b"\x1be") and payloads[2].startswith(b"\x1b<")
    assert not any(p.endswith(b"\x1b") for p in payloads)
    assert b"".join(payloads).decode("gsm03.38") == body


def test_a_ucs2_text_with_emoji_never_splits_a_surrogate_pair(smsc, make_provider):
    body = "Olá, Zoë! " + "🎉" * 30 + " Ends Sunday 🛍️ — reply STOP to opt out"
    [result] = send(make_provider(), outgoing(body))

    assert result.outcome == Outcome.ACCEPTED
    assert len(smsc.submits) == count_segments(body).segments == 2
    payloads = []
    for number, submitted in enumerate(smsc.submits, start=1):
        assert (submitted.esm_class, submitted.data_coding) == (0x40, 8)
        assert submitted.short_message[:6] == bytes([5, 0, 3, smsc.submits[0].short_message[3], 2, number])
        payload = split_udh(submitted.short_message, submitted.esm_class)[1]
        assert len(payload) <= 134
        payloads.append(payload.decode("utf-16-be", "strict"))  # a split pair would raise here
    assert "".join(payloads) == body


@pytest.mark.parametrize("status", [smpp34.ESME_RTHROTTLED, smpp34.ESME_RMSGQFUL])
def test_throttling_is_transient(smsc, make_provider, status):
    smsc.decide = lambda s: (REJECT, status)
    [result] = send(make_provider(), outgoing("Hello"))

    assert result.outcome == Outcome.TRANSIENT
    assert result.error_code == f"0x{status:08X}"
    assert result.retry_after_s


def test_other_errors_are_permanent_with_the_hex_code(smsc, make_provider):
    smsc.decide = lambda s: (REJECT, smpp34.ESME_RINVDSTADR)
    [result] = send(make_provider(), outgoing("Hello"))

    assert result.outcome == Outcome.PERMANENT
    assert result.error_code == "0x0000000B"
    assert "Invalid Destination Address" in result.error


def test_no_smsc_listening_is_transient(smsc, make_provider):
    provider = make_provider(port=free_port(), connect_timeout_s=2.0)
    [result] = send(provider, outgoing("Hello"))

    assert result.outcome == Outcome.TRANSIENT
    assert "bind failed" in result.error
    assert smsc.submits == []


def test_connection_lost_after_the_submit_is_unknown_then_the_next_send_binds_again(smsc, make_provider):
    smsc.decide = lambda s: (HOLD_AND_DROP, None)
    provider = make_provider()
    [lost] = send(provider, outgoing("Hello"))

    assert lost.outcome == Outcome.UNKNOWN
    assert len(smsc.submits) == 1

    smsc.decide = lambda s: (ACCEPT, "after-rebind")
    [result] = send(provider, outgoing("Hello again", message_id=2))
    assert (result.outcome, result.provider_message_id) == (Outcome.ACCEPTED, "after-rebind")
    assert len(smsc.esmes) == 2


def test_a_later_part_throttled_is_retried_with_the_same_reference(smsc, make_provider):
    answers = iter([(ACCEPT, "p1"), (REJECT, smpp34.ESME_RTHROTTLED), (ACCEPT, "p2")])
    smsc.decide = lambda s: next(answers)
    [result] = send(make_provider(), outgoing("x" * 200))

    assert (result.outcome, result.response["message_ids"]) == (Outcome.ACCEPTED, ["p1", "p2"])
    assert [s.short_message[:6] for s in smsc.submits] == [
        bytes([5, 0, 3, smsc.submits[0].short_message[3], 2, n]) for n in (1, 2, 2)]


def test_a_batch_pipelines_over_one_bind(smsc, make_provider):
    provider = make_provider(window=4)
    results = send(provider, *[outgoing(f"Text {n}", message_id=n) for n in range(1, 21)])

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 20
    assert len({r.provider_message_id for r in results}) == 20
    assert sorted(s.short_message for s in smsc.submits) == sorted(f"Text {n}".encode() for n in range(1, 21))
    assert len(smsc.esmes) == 1


def test_a_deliver_sm_on_a_bind_without_handlers_is_refused_for_redelivery(smsc, make_provider):
    provider = make_provider()
    send(provider, outgoing("Hello"))
    [esme] = smsc.esmes

    assert smsc.receipt(esme, "smsc-1", to=SENDER_NUMBER[1:], source="12125550123") == 0x64  # ESME_RX_T_APPN

    seen = []
    provider.set_handlers(on_receipt=seen.append, on_inbound=seen.append)
    assert smsc.receipt(esme, "smsc-1", to=SENDER_NUMBER[1:], source="12125550123") == 0
    assert [(r.provider_message_id, r.status) for r in seen] == [("smsc-1", "delivered")]


def test_inbound_long_texts_are_reassembled_before_decoding(smsc, make_provider):
    provider = make_provider()
    seen = []
    provider.set_handlers(on_inbound=seen.append)
    provider.session.bind()
    [esme] = smsc.wait_for_binds(1)
    text = "Where is my order? 🙂" * 4
    raw = text.encode("utf-16-be")
    halves = [raw[:61], raw[61:]]  # an odd cut: inside a code unit, like a careless phone
    for number, half in enumerate(halves, start=1):
        status = smsc.deliver_sm(esme, SENDER_NUMBER[1:], bytes([5, 0, 3, 77, 2, number]) + half,
                                 source_addr="12125550123", source_addr_ton=1, esm_class=0x40, data_coding=8)
        assert status == 0
    [inbound] = seen  # one record for the two parts, read into our terms (E.164 numbers)
    assert (inbound.body, inbound.from_phone, inbound.to_phone) == (text, "+12125550123", SENDER_NUMBER)
