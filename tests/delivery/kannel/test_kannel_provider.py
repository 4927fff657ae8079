"""What `send_batch` makes of smsbox's answers and of a gateway that is down or hangs. The
answers come from a real smsbox where it can give them (accepted, 403 for bad credentials),
from real sockets for "nothing listens" and "listens but never answers"."""
import asyncio
import socket

import pytest
from conftest import SENDER_NUMBER, TOKEN, free_port, wait_until

from textpilot.delivery.providers.base import OutgoingText, Outcome
from textpilot.delivery.providers.kannel.provider import KannelProvider, outcome_of


def provider(base_url, **options):
    return KannelProvider(credentials={"username": "tp", "password": options.pop("password", "tp-secret"),
                                       "webhook_token": TOKEN}, options={"base_url": base_url, **options})


def send(kannel_provider, *texts):
    async def run():
        try:
            return await kannel_provider.send_batch(list(texts))
        finally:
            await kannel_provider.close()
    return asyncio.run(run())


def text(message_id=7, body="Your order shipped"):
    return OutgoingText(message_id, 1, "+12125550123", SENDER_NUMBER, body)


def test_accepted_by_a_real_smsbox_and_handed_to_the_smsc(kannel):
    first, second = send(provider(kannel.base_url), text(7, "first of two"), text(8, "second of two"))
    assert (first.outcome, first.provider_message_id) == (Outcome.ACCEPTED, "kannel-7")
    assert (second.outcome, second.provider_message_id) == (Outcome.ACCEPTED, "kannel-8")
    assert first.response == {"status": 202, "body": "0: Accepted for delivery"}
    assert wait_until(lambda: {"first of two", "second of two"} <= set(kannel.texts())), kannel.log()[-2000:]


def test_wrong_password_is_permanent(kannel):
    [result] = send(provider(kannel.base_url, password="wrong"), text())
    assert (result.outcome, result.error_code) == (Outcome.PERMANENT, "403")
    assert "Authorization failed" in result.error


def test_nothing_listening_is_transient():
    [result] = send(provider(f"http://127.0.0.1:{free_port()}"), text())
    assert result.outcome == Outcome.TRANSIENT and "kannel:" in result.error


def test_no_answer_in_time_is_unknown():
    """smsbox may have taken the text: the dispatcher must not resend it blindly."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        [result] = send(provider(f"http://127.0.0.1:{silent.getsockname()[1]}", request_timeout_s=1), text())
    assert result.outcome == Outcome.UNKNOWN and "Timeout" in result.error


def test_a_text_longer_than_max_messages_is_refused_not_cut(kannel):
    """Kannel would send only the first max-messages parts (the opt-out line lost)."""
    long_text = "Big sale today. " * 15 + "Reply STOP to opt out"
    [result] = send(provider(kannel.base_url, max_messages=1), text(body=long_text))
    assert (result.outcome, result.error_code) == (Outcome.PERMANENT, "too_long")
    assert "needs 2 SMS" in result.error and "max-messages" in result.error
    [fits] = send(provider(kannel.base_url, max_messages=2), text(body=long_text))
    assert fits.outcome == Outcome.ACCEPTED
    assert wait_until(lambda: long_text in kannel.texts()), kannel.log()[-2000:]


@pytest.mark.parametrize("status,body,outcome", [
    (202, "0: Accepted for delivery", Outcome.ACCEPTED),
    (202, "3: Queued for later delivery", Outcome.ACCEPTED),
    (400, "Empty receiver number not allowed, rejected", Outcome.PERMANENT),
    (403, "Authorization failed for sendsms", Outcome.PERMANENT),
    (429, "", Outcome.TRANSIENT),
    (503, "Sending failed.", Outcome.TRANSIENT),
    (200, "<html>proxy</html>", Outcome.UNKNOWN),
    (302, "", Outcome.PERMANENT),
])
def test_answers_map_to_outcomes(status, body, outcome):
    assert outcome_of(status, body) == outcome
