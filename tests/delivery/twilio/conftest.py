"""Fixtures of the Twilio tests: the fake Messages API running on 127.0.0.1, and a sender using it."""
import asyncio
import threading

import pytest
from aiohttp import web
from twilio_fakes import TWILIO_NUMBER, FakeTwilio, twilio_credentials


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", fake.messages)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    fake.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    thread = threading.Thread(target=loop.run_forever, name="fake-twilio", daemon=True)
    thread.start()
    yield fake
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def twilio_sender(store, fake_twilio):
    """The store's default sender: a Twilio short code pointed at the fake API."""
    from textpilot.delivery import service

    return service.create_sender(store, name="Twilio", provider="twilio", from_number=TWILIO_NUMBER,
                                 number_type="short_code", credentials=twilio_credentials(),
                                 options={"base_url": fake_twilio.url})
