"""One SMPP 3.4 transceiver bind, driven from ordinary threads (smpplib is blocking).

A session owns one smpplib client and one reader thread. Writers (submit_sm, the answers
to deliver_sm, enquire_link) share the socket under a lock; the reader thread is the only
one that reads, so every answer — submit_sm_resp, deliver_sm, enquire_link, unbind — is
handled there: a submit_sm_resp completes the Future its submitter waits on (matched by
sequence number), a deliver_sm goes to `on_receipt` or `on_inbound` and is answered with
what the callback did. A deliver_sm nobody can take (no callback set, or the callback
failed, e.g. the database is down) is answered ESME_RX_T_APPN: the SMSC keeps it and
delivers it again later, so nothing is acknowledged that wasn't stored. One that can never be
stored (the callback raised Refused: a source address that is no phone number) is answered
with the permanent error it names instead of being resent forever.

The session never touches the database: whoever owns it sets the callbacks.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from smpplib import client as smpp_client
from smpplib import consts as smpp_consts
from smpplib import exceptions as smpp_exceptions
from smpplib import smpp

from textpilot.delivery.providers.smpp.parts import (
    ESM_CLASS_RECEIPT, decode_payload, split_udh,
)
from textpilot.delivery.providers.base import Receipt
from textpilot.delivery.providers.smpp.receipts import parse_receipt

log = structlog.get_logger(__name__)

ESME_ROK = smpp_consts.SMPP_ESME_ROK
ESME_RX_T_APPN = smpp_consts.SMPP_ESME_RX_T_APPN  # "temporary application error": the SMSC retries
# esm_class bits 2-5 give the message type; these two carry a receipt (final or intermediate).
_MESSAGE_TYPE_MASK = 0x3C
_RECEIPT_TYPES = (ESM_CLASS_RECEIPT, 0x20)
_MAX_PENDING_INBOUND_PARTS = 1000


class SessionError(Exception):
    """Base of what a submit can run into."""


class BindError(SessionError):
    """Connecting or binding failed: nothing was sent."""


class NotSent(SessionError):
    """The PDU never left: the connection was down before or while writing it."""


class ConnectionLost(SessionError):
    """The PDU left, then the connection ended before its answer came."""


class Refused(Exception):
    """Raised by a deliver_sm callback for a PDU that will never be stored (an unreadable
    number): answered with `command_status`, a permanent error, so the SMSC stops resending it."""

    def __init__(self, command_status: int, detail: str):
        super().__init__(detail)
        self.command_status = command_status


@dataclasses.dataclass(frozen=True)
class SubmitResponse:
    command_status: int
    message_id: str | None


@dataclasses.dataclass(frozen=True)
class DeliveredText:
    """A text as deliver_sm carried it (addresses with their type of number), its parts joined;
    the provider reads it into an InboundText record."""

    source_addr: str
    source_addr_ton: int
    destination_addr: str
    dest_addr_ton: int
    text: str
    parts: int = 1


def format_address(address: str, ton: int) -> str:
    """An SMPP address as a phone number: international (TON 1) digits get their '+'."""
    return f"+{address}" if ton == 1 and address.isdigit() else address


class _SequenceGenerator(smpp_client.SimpleSequenceGenerator):
    """smpplib's generator, made safe for several writer threads."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()

    def next_sequence(self):
        with self._lock:
            return super().next_sequence()


class _Client(smpp_client.Client):
    """smpplib's client with one lock around writes: submitters and the reader thread (which
    answers deliver_sm and enquire_link) must never interleave bytes on the socket."""

    def __init__(self, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, sequence_generator=_SequenceGenerator(),
                         allow_unknown_opt_params=True, logger_name="smpplib.client")
        self._write_lock = threading.Lock()

    def send_pdu(self, p):
        with self._write_lock:
            return super().send_pdu(p)


class SmppSession:
    def __init__(
        self, *, host: str, port: int, system_id: str, password: str, system_type: str = "",
        connect_timeout_s: float = 10.0, enquire_link_s: float = 30.0, window: int = 10,
        on_receipt: Callable[[Receipt], None] | None = None,
        on_inbound: Callable[[DeliveredText], None] | None = None,
    ):
        self.host, self.port = host, int(port)
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.connect_timeout_s, self.enquire_link_s = connect_timeout_s, enquire_link_s
        self.on_receipt, self.on_inbound = on_receipt, on_inbound
        self._window = threading.BoundedSemaphore(max(1, int(window)))
        self._bind_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._client: _Client | None = None
        self._reader: threading.Thread | None = None
        self._pending: dict[int, concurrent.futures.Future] = {}
        self._inbound_parts: OrderedDict[tuple, dict[int, bytes]] = OrderedDict()
        self._closing = False
        self.disconnected = threading.Event()  # set whenever the bind ends
        self.disconnected.set()

    # --- binding ------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._client is not None and not self.disconnected.is_set()

    def bind(self) -> None:
        """Connect and bind as a transceiver unless already bound. Raises BindError."""
        with self._bind_lock:
            if self.alive:
                return
            self._closing = False
            client = _Client(self.host, self.port, timeout=self.connect_timeout_s)
            try:
                client.connect()
                client.bind_transceiver(system_id=self.system_id, password=self.password, system_type=self.system_type)
            except (smpp_exceptions.ConnectionError, smpp_exceptions.PDUError, OSError) as exc:
                client.disconnect()
                raise BindError(_describe(exc) or "connection failed") from None
            # From now on a read timeout means an idle line: the reader sends enquire_link.
            client._socket.settimeout(self.enquire_link_s)
            # Pipelined small PDUs must not wait for the peer's delayed ACK (Nagle).
            client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._client = client
            self.disconnected.clear()
            self._reader = threading.Thread(target=self._read_loop, args=(client,), name=f"smpp-reader-{self.system_id}",
                                            daemon=True)
            self._reader.start()
            log.info("smpp.bound", host=self.host, port=self.port, system_id=self.system_id)

    def close(self, timeout: float = 2.0) -> None:
        """Unbind (politely, if the line is up) and stop the reader thread."""
        self._closing = True
        client, reader = self._client, self._reader
        if client is not None and not self.disconnected.is_set():
            try:
                client.send_pdu(smpp.make_pdu("unbind", client=client))
                self.disconnected.wait(timeout)  # the reader ends on unbind_resp
            except (smpp_exceptions.ConnectionError, smpp_exceptions.PDUError, OSError):
                pass
        if client is not None:
            _shutdown(client)
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)

    # --- submitting ---------------------------------------------------------------------

    def submit(self, *, timeout: float, **fields: Any) -> concurrent.futures.Future:
        """Write one submit_sm; the Future resolves to its SubmitResponse or raises
        ConnectionLost. Raises NotSent when the PDU could not be written."""
        if not self._window.acquire(timeout=timeout):
            raise NotSent(f"no answer to the {self._window._initial_value} submissions in flight")
        client = self._client
        if client is None or self.disconnected.is_set():
            self._window.release()
            raise NotSent("not bound")
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.add_done_callback(lambda _: self._window.release())
        pdu = smpp.make_pdu("submit_sm", client=client, **fields)
        with self._pending_lock:
            self._pending[pdu.sequence] = future
        try:
            client.send_pdu(pdu)
        except (smpp_exceptions.ConnectionError, smpp_exceptions.PDUError, OSError) as exc:
            with self._pending_lock:
                self._pending.pop(pdu.sequence, None)
            if not future.done():
                future.cancel()
            raise NotSent(_describe(exc) or "the connection is down") from None
        return future

    def forget(self, future: concurrent.futures.Future) -> None:
        """Stop waiting for an answer (timed out): frees its place in the window."""
        with self._pending_lock:
            for sequence, pending in list(self._pending.items()):
                if pending is future:
                    del self._pending[sequence]
        future.cancel()

    # --- the reader thread --------------------------------------------------------------

    def _read_loop(self, client: _Client) -> None:
        reason = "unbound"
        try:
            while True:
                try:
                    pdu = client.read_pdu()
                except socket.timeout:
                    if self._closing:
                        break
                    client.send_pdu(smpp.make_pdu("enquire_link", client=client))
                    continue
                except smpp_exceptions.UnknownCommandError as exc:  # a whole PDU we can't name: skip it
                    log.warning("smpp.unknown_pdu", error=str(exc))
                    continue
                if pdu is None:
                    continue
                if not self._handle(client, pdu):
                    break
        except (smpp_exceptions.ConnectionError, smpp_exceptions.PDUError, OSError) as exc:
            reason = _describe(exc) or "connection closed"
        except Exception:  # a bug here must still fail the waiting submitters
            log.exception("smpp.reader_failed")
            reason = "reader failed"
        finally:
            if self._client is client:
                self._client = None
            _shutdown(client)
            self.disconnected.set()
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(ConnectionLost(f"connection ended before the answer ({reason})"))
            if not self._closing:
                log.warning("smpp.disconnected", host=self.host, port=self.port, reason=reason)

    def _handle(self, client: _Client, pdu) -> bool:
        """Act on one PDU; False ends the session."""
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            with self._pending_lock:
                future = self._pending.pop(pdu.sequence, None)
            if future is not None and not future.done():
                message_id = getattr(pdu, "message_id", None)
                if isinstance(message_id, bytes):
                    message_id = message_id.decode("ascii", "replace")
                future.set_result(SubmitResponse(int(pdu.status), message_id or None))
        elif command == "deliver_sm":
            self._answer(client, "deliver_sm_resp", pdu.sequence, self._on_deliver(pdu))
        elif command == "enquire_link":
            self._answer(client, "enquire_link_resp", pdu.sequence)
        elif command == "unbind":
            self._answer(client, "unbind_resp", pdu.sequence)
            return False
        elif command == "unbind_resp":
            return False
        elif command != "enquire_link_resp":
            log.info("smpp.ignored_pdu", command=command)
        return True

    @staticmethod
    def _answer(client: _Client, command: str, sequence: int, status: int = ESME_ROK) -> None:
        answer = smpp.make_pdu(command, client=client, status=status)
        answer.sequence = sequence
        client.send_pdu(answer)

    def _on_deliver(self, pdu) -> int:
        """Hand a deliver_sm to its callback; the answer tells the SMSC whether we kept it."""
        esm_class = int(pdu.esm_class or 0)
        payload = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        if esm_class & _MESSAGE_TYPE_MASK in _RECEIPT_TYPES:
            receipted = getattr(pdu, "receipted_message_id", None)
            receipt = parse_receipt(split_udh(payload, esm_class)[1].decode("latin-1"),
                                    receipted.decode("ascii", "replace") if isinstance(receipted, bytes) else receipted,
                                    getattr(pdu, "message_state", None))
            if receipt is None:
                log.warning("smpp.receipt_without_id", body=payload[:100])
                return ESME_ROK  # nothing could ever match it: accept rather than have it resent forever
            return self._call(self.on_receipt, receipt)
        text = self._inbound_text(pdu, esm_class, payload)
        if text is None:
            return ESME_ROK  # a part of a longer text, kept until the rest arrives
        return self._call(self.on_inbound, text)

    def _inbound_text(self, pdu, esm_class: int, payload: bytes) -> DeliveredText | None:
        source, destination = _text(pdu.source_addr), _text(pdu.destination_addr)
        concat, data = split_udh(payload, esm_class)
        parts = 1
        if concat is not None and concat.total > 1:
            key = (source, destination, concat.reference, concat.total)
            received = self._inbound_parts.setdefault(key, {})
            received[concat.sequence] = data
            if len(received) < concat.total:
                while len(self._inbound_parts) > _MAX_PENDING_INBOUND_PARTS:
                    self._inbound_parts.popitem(last=False)
                return None
            del self._inbound_parts[key]
            # Join the bytes before decoding: a phone may split a UCS-2 surrogate pair.
            data, parts = b"".join(received[n] for n in sorted(received)), concat.total
        return DeliveredText(source, int(pdu.source_addr_ton or 0), destination, int(pdu.dest_addr_ton or 0),
                             decode_payload(data, int(pdu.data_coding or 0)), parts)

    @staticmethod
    def _call(callback, value) -> int:
        if callback is None:
            return ESME_RX_T_APPN
        try:
            callback(value)
        except Refused as exc:
            log.warning("smpp.deliver_sm_refused", kind=type(value).__name__, detail=str(exc),
                        command_status=f"0x{exc.command_status:08X}")
            return exc.command_status
        except Exception:
            log.exception("smpp.callback_failed", kind=type(value).__name__)
            return ESME_RX_T_APPN
        return ESME_ROK


def _text(value) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else (value or "")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smpp_exceptions.PDUError) and len(exc.args) > 1:
        return f"{exc.args[0]} (0x{int(exc.args[1]):08X})"
    return str(exc) or type(exc).__name__


def _shutdown(client: _Client) -> None:
    """Close the socket; a reader blocked in recv() wakes up with an error and ends."""
    sock = client._socket
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # smpplib warns about closing a bound client; the socket is gone either way.
    client.state = smpp_consts.SMPP_CLIENT_STATE_OPEN
    try:
        client.disconnect()
    except (OSError, AttributeError):  # the other thread closed it first
        pass
