"""The SMPP receiver: a long-lived bind per smpp sender that stores what the SMSC delivers.

Why a process of its own (`textpilot smpp_listen --sender <id>`): SMPP pushes receipts and
inbound texts down a bind, there is no webhook. Providers never touch the database, and a
dispatcher binds only while it has texts to send, so the dispatcher is no place to wait for
a customer's "STOP" at 3 a.m. The listener keeps one transceiver bind open at all times
(rebinding with backoff after a drop). The provider reads each deliver_sm into the records a
webhook becomes (Receipt, InboundText) and the listener writes them the way the generic
webhook view does, through delivery.receiving:
  receipt (esm_class 0x04)  -> receiving.record_receipts (found by provider_message_id)
  any other deliver_sm      -> receiving.record_inbound (STOP/START/HELP handled there)
A deliver_sm is acknowledged only after it is stored; if storing fails, or if it reaches
the dispatcher's bind (no callbacks there), it is answered ESME_RX_T_APPN and the SMSC
delivers it again later, typically on the listener's bind. SMSCs that allow a single bind
per account need the dispatcher and the listener on separate accounts (or a receiver-only
account for the listener).

Database work runs on one thread of the listener's own, so the reader thread blocks until a
text is stored (the SMSC waits for the answer anyway) and the connection is closed on exit.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import threading

import structlog
from django.db import close_old_connections, connections

from textpilot.delivery.models import Sender
from textpilot.delivery.providers.base import InboundText, Receipt
from textpilot.delivery.providers.smpp.session import BindError

log = structlog.get_logger(__name__)

MAX_BACKOFF_S = 60.0


def store_receipt(sender: Sender, receipt: Receipt) -> None:
    from textpilot.delivery import receiving

    receiving.record_receipts(sender.store, sender.provider, [receipt])


def store_inbound(sender: Sender, text: InboundText) -> None:
    from textpilot.delivery import receiving

    if not text.to_phone:  # an SMSC that leaves destination_addr empty delivers to this sender's number
        text = dataclasses.replace(text, to_phone=sender.from_number)
    receiving.record_inbound(sender.store, sender.provider, [text])


class Listener:
    """Keeps `sender`'s bind up until `stop` is set. `run()` blocks; tests run it in a thread."""

    def __init__(self, sender: Sender, stop: threading.Event | None = None):
        from textpilot.delivery import service

        if sender.provider != "smpp":
            raise ValueError(f"sender {sender.pk} uses {sender.provider!r}, not smpp")
        self.sender = sender
        self.stop = stop or threading.Event()
        self.provider = service.provider_for(sender)
        self._db = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="smpp-listener-db")
        self.provider.set_handlers(on_receipt=lambda r: self._in_db(store_receipt, r),
                                   on_inbound=lambda t: self._in_db(store_inbound, t), region=sender.store.country)
        self.bound = threading.Event()  # set while a bind is up

    def _in_db(self, fn, value) -> None:
        def call():
            close_old_connections()
            return fn(self.sender, value)

        self._db.submit(call).result()

    def run(self) -> None:
        session = self.provider.session
        backoff = 1.0
        log.info("smpp.listener_started", sender_id=self.sender.pk)
        try:
            while not self.stop.is_set():
                try:
                    session.bind()
                except BindError as exc:
                    log.warning("smpp.listener_bind_failed", sender_id=self.sender.pk, error=str(exc), retry_in=backoff)
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                backoff = 1.0
                self.bound.set()
                while not self.stop.is_set() and not session.disconnected.wait(0.5):
                    pass
                self.bound.clear()
        finally:
            session.close()
            self._db.submit(connections.close_all).result()
            self._db.shutdown(wait=True)
            log.info("smpp.listener_stopped", sender_id=self.sender.pk)
