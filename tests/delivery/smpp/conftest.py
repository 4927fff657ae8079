"""Fixtures of the SMPP tests: a real SMPP peer (smpp34's SMSC server) on 127.0.0.1, a
provider bound to it, and an smpp sender of the store pointing at it."""
import asyncio
import threading

import pytest
from smpp_fakes import PASSWORD, SENDER_NUMBER, SYSTEM_ID, FakeSmsc, smpp_options


@pytest.fixture
def smsc():
    server = FakeSmsc().start()
    yield server
    server.stop()


@pytest.fixture
def make_provider(smsc):
    from textpilot.delivery.providers.smpp.provider import SmppProvider

    made = []

    def make(**options):
        provider = SmppProvider({"system_id": SYSTEM_ID, "password": PASSWORD}, smpp_options(smsc, **options))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        asyncio.run(provider.close())


@pytest.fixture
def smpp_sender(store, smsc):
    from textpilot.delivery import service

    return service.create_sender(store, name="SMSC", provider="smpp", from_number=SENDER_NUMBER, number_type="long_code",
                                 rate_per_second=100, credentials={"system_id": SYSTEM_ID, "password": PASSWORD},
                                 options=smpp_options(smsc))


@pytest.fixture
def listener(smpp_sender, smsc):
    """`textpilot smpp_listen` for the sender, in a thread; yields once its bind is up."""
    from textpilot.delivery.providers.smpp.listener import Listener

    running = Listener(smpp_sender)
    thread = threading.Thread(target=running.run, name="smpp-listener", daemon=True)
    thread.start()
    assert running.bound.wait(15), "the listener never bound"
    yield running
    running.stop.set()
    thread.join(15)
    assert not thread.is_alive()
