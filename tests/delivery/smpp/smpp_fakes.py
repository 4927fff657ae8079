"""An SMSC on 127.0.0.1 for the SMPP tests: smpp34's server (a real SMPP 3.4 peer, Rust core)
on its own event loop in a background thread, recording every submit_sm it receives."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import socket
import threading
import time
from collections.abc import Callable

import smpp34

SYSTEM_ID, PASSWORD = "textpilot", "secret"
SENDER_NUMBER = "+14155550100"
WAIT_S = 15.0  # how long a test waits for something that should happen at once


@dataclasses.dataclass(frozen=True)
class Submitted:
    short_message: bytes
    data_coding: int
    esm_class: int
    registered_delivery: int
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    session_id: str


ACCEPT, REJECT, HOLD_AND_DROP = "accept", "reject", "hold_and_drop"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], object], what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


class FakeSmsc:
    """`decide(submitted)` answers each submit_sm: (ACCEPT, message_id) by default,
    (REJECT, command_status), or (HOLD_AND_DROP, None) to keep it unanswered and close the
    connection (the "lost after the write" case)."""

    def __init__(self):
        self.port = free_port()
        self.submits: list[Submitted] = []
        self.esmes: list = []  # bound sessions, in bind order
        self.unbound: list[str] = []
        self._ids = itertools.count(1)
        self.decide: Callable[[Submitted], tuple[str, object]] = lambda s: (ACCEPT, f"smsc-{next(self._ids)}")
        self._held: list = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-smsc", daemon=True)
        self._server = None
        self._serving = None

    def start(self) -> FakeSmsc:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(WAIT_S)
        return self

    async def _start(self):
        self._server = smpp34.Server("127.0.0.1", self.port, system_id="SMSC")
        await self._server.start()
        self._serving = asyncio.ensure_future(self._serve())

    async def _serve(self):
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self.esmes.append(event)
            elif isinstance(event, smpp34.Unbound):
                self.unbound.append(event.session_id)
            elif isinstance(event, smpp34.SubmitSmEvent):
                submitted = Submitted(
                    event.short_message, event.data_coding, event.esm_class, event.registered_delivery,
                    event.source_addr, event.source_addr_ton, event.source_addr_npi, event.destination_addr,
                    event.dest_addr_ton, event.dest_addr_npi, event.session_id)
                self.submits.append(submitted)
                action, value = self.decide(submitted)
                if action == ACCEPT:
                    event.accept(value)
                elif action == REJECT:
                    event.reject(value)
                else:  # never answer; end the session it came on
                    self._held.append(event)
                    esme = next(e for e in self.esmes if e.session_id == event.session_id)
                    asyncio.ensure_future(esme.unbind())

    def stop(self) -> None:
        async def shutdown():
            if self._serving is not None:
                self._serving.cancel()
            await self._server.stop()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(WAIT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT_S)

    # --- what an SMSC pushes to a bound client -------------------------------------------

    def deliver_sm(self, esme, destination_addr: str, short_message: bytes, **fields) -> int:
        """Push a deliver_sm down `esme`'s bind; returns the command_status it was answered with."""
        async def push():
            return (await esme.deliver_sm(destination_addr, short_message, **fields)).command_status

        return asyncio.run_coroutine_threadsafe(push(), self._loop).result(WAIT_S)

    def receipt(self, esme, message_id: str, stat: str = "DELIVRD", err: str = "000", *, to: str, source: str) -> int:
        body = (f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} submit date:2501011200 "
                f"done date:2501011201 stat:{stat} err:{err} text:Hello").encode("ascii")
        return self.deliver_sm(esme, to, body, source_addr=source, esm_class=0x04, source_addr_ton=1, source_addr_npi=1,
                               dest_addr_ton=1, dest_addr_npi=1)

    def unbind(self, esme) -> None:
        """The SMSC ends a bind (maintenance, a restart): the client has to bind again."""
        async def unbind():
            await esme.unbind()

        asyncio.run_coroutine_threadsafe(unbind(), self._loop).result(WAIT_S)

    def wait_for_binds(self, count: int) -> list:
        return wait_until(lambda: self.esmes if len(self.esmes) >= count else None, f"{count} bind(s)")


# --- helpers for driving a provider --------------------------------------------------------

def smpp_options(smsc, **extra):
    return {"host": "127.0.0.1", "port": smsc.port, "response_timeout_s": 10.0, **extra}


def send(provider, *texts):
    return asyncio.run(provider.send_batch(list(texts)))


def outgoing(body, message_id=1, to="+12125550123", sender=SENDER_NUMBER):
    from textpilot.delivery.providers.base import OutgoingText

    return OutgoingText(message_id=message_id, store_id=1, to_phone=to, from_phone=sender, body=body)
