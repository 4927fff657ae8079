"""SMPP 3.4 (smpplib): texts go to an SMSC as submit_sm over one transceiver bind.

Each provider instance keeps one long-lived bind (`SmppSession`), made on the first send and
remade after a drop. smpplib is blocking, so a send runs on the instance's own thread, one
batch at a time (a lock: the bind is shared); inside a batch the submissions are pipelined
up to `window` in flight, the parts of one text strictly in order.

Long texts are concatenated with a UDH (see parts.py); the provider message id of a text is
the id of its first part, and all part ids are kept on the DeliveryAttempt.

How an answer becomes an outcome:
  submit_sm_resp 0 for every part              ACCEPTED (id of the first part)
  ESME_RTHROTTLED 0x58, ESME_RMSGQFUL 0x14     TRANSIENT (retried later by the dispatcher)
  other command_status                          PERMANENT, error_code "0x0000000B" etc.
  no connection, bind refused, write failed     TRANSIENT: nothing reached the SMSC
  connection lost after the write, no answer    UNKNOWN: the SMSC may have it; a receipt settles it
A later part of a long text is retried within the call (same reference) on a transient
error, since resending the whole text would repeat the parts already accepted; if it still
fails the text is PERMANENT ("partially sent").

Receipts and inbound texts arrive as deliver_sm on a bind, not as webhooks: read into the same
Receipt / InboundText records (receipts.py, `inbound_text`) and stored by listener.py through
the write path the webhooks use (delivery.receiving).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
import time
from typing import Any

import structlog
from smpplib import consts as smpp_consts

from textpilot.delivery.providers.base import (
    ConfigChecks, InboundText, OutgoingText, Outcome, Provider, ProviderConfigError, SendResult, WebhookMalformed, our_number,
    register,
    webhook_phone,
)
from textpilot.delivery.providers.smpp.parts import SubmitPart, submit_parts
from textpilot.delivery.providers.smpp.session import (
    BindError, ConnectionLost, DeliveredText, NotSent, Refused, SmppSession, SubmitResponse, format_address,
)

log = structlog.get_logger(__name__)

TRANSIENT_STATUSES = frozenset({smpp_consts.SMPP_ESME_RTHROTTLED, smpp_consts.SMPP_ESME_RMSGQFUL})
THROTTLED_RETRY_AFTER_S = 1.0
# SMPP 3.4 field limits (C-octet strings, the NUL included).
_MAX_SYSTEM_ID, _MAX_PASSWORD, _MAX_SYSTEM_TYPE = 15, 8, 12


def error_code(status: int) -> str:
    return f"0x{status:08X}"


def describe_status(status: int) -> str:
    return smpp_consts.DESCRIPTIONS.get(status, "unknown error")


@register
class SmppProvider(Provider):
    name = "smpp"
    label = "SMPP 3.4 (an SMSC or aggregator)"
    credential_fields = ("system_id", "password")
    option_fields = {
        "host": "",
        "port": 2775,
        "system_type": "",
        "source_addr_ton": None,  # None: from the sender number (+… international, letters alphanumeric)
        "source_addr_npi": None,
        "dest_addr_ton": 1,  # recipients are E.164 numbers: international, ISDN
        "dest_addr_npi": 1,
        "window": 10,  # submissions in flight before waiting for answers
        "response_timeout_s": 10.0,  # per submit_sm_resp; below the dispatcher's 30 s call limit
        "connect_timeout_s": 10.0,
        "enquire_link_s": 30.0,  # keep-alive on an idle bind
        "part_retries": 3,  # tries for a later part of a long text after a transient error
    }

    def __init__(self, credentials: dict[str, str] | None = None, options: dict[str, Any] | None = None):
        super().__init__(credentials, options)
        self.session = SmppSession(
            host=str(self.options["host"]).strip(), port=int(self.options["port"]),
            system_id=(self.credentials.get("system_id") or "").strip(), password=self.credentials.get("password") or "",
            system_type=str(self.options["system_type"] or ""), connect_timeout_s=float(self.options["connect_timeout_s"]),
            enquire_link_s=float(self.options["enquire_link_s"]), window=int(self.options["window"]),
        )
        self._submit_lock = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="smpp-submit")
        self._reference = random.randrange(256)

    # --- configuration ----------------------------------------------------------------------

    @classmethod
    def validate_config(cls, credentials: dict[str, str], options: dict[str, Any]) -> None:
        options = {**cls.option_fields, **options}
        checks = ConfigChecks()
        with checks:
            if not str(options.get("host") or "").strip():
                raise ProviderConfigError("host is required for SMPP: the SMSC's host name or IP address", field="host")
        with checks:
            _check_int(options.get("port"), "port", 1, 65535)
        with checks:
            system_id = (credentials.get("system_id") or "").strip()
            if not system_id:
                raise ProviderConfigError("system_id is required for SMPP: the account name the SMSC gave you", field="system_id")
            if len(system_id) > _MAX_SYSTEM_ID:
                raise ProviderConfigError(f"system_id is at most {_MAX_SYSTEM_ID} characters in SMPP 3.4", field="system_id")
        with checks:
            password = credentials.get("password") or ""
            if not password:
                raise ProviderConfigError("password is required for SMPP", field="password")
            if len(password) > _MAX_PASSWORD:
                raise ProviderConfigError(f"password is at most {_MAX_PASSWORD} characters in SMPP 3.4", field="password")
        with checks:
            if len(str(options.get("system_type") or "")) > _MAX_SYSTEM_TYPE:
                raise ProviderConfigError(f"system_type is at most {_MAX_SYSTEM_TYPE} characters", field="system_type")
        for field in ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi"):
            if options.get(field) is not None:
                with checks:
                    _check_int(options[field], field, 0, 255)
        with checks:
            _check_int(options.get("window"), "window", 1, 1000)
        with checks:
            _check_int(options.get("part_retries"), "part_retries", 0, 10)
        for field in ("response_timeout_s", "connect_timeout_s", "enquire_link_s"):
            try:
                value = float(options.get(field))
            except (TypeError, ValueError):
                value = 0.0
            if not 0 < value <= 300:
                with checks:
                    raise ProviderConfigError(f"{field} must be a number of seconds above 0 and at most 300", field=field)
        checks.raise_if_any()

    # --- receiving ---------------------------------------------------------------------------

    def set_handlers(self, *, on_receipt=None, on_inbound=None, region: str | None = None) -> None:
        """Whoever owns this bind and may store things (listener.py) takes its deliver_sm, as
        the Receipt / InboundText records a webhook becomes too (national numbers are read in
        `region`, the store's country)."""
        def inbound(delivered: DeliveredText) -> None:
            on_inbound(self.inbound_text(delivered, region))

        self.session.on_receipt = on_receipt
        self.session.on_inbound = inbound if on_inbound is not None else None

    @staticmethod
    def inbound_text(delivered: DeliveredText, region: str | None = None) -> InboundText:
        """A deliver_sm's text as our record; a source address that is no phone number can
        never be stored, so it is refused for good (ESME_RINVSRCADR) rather than resent."""
        try:
            from_phone = webhook_phone(format_address(delivered.source_addr, delivered.source_addr_ton), "from", region)
        except WebhookMalformed as exc:
            raise Refused(smpp_consts.SMPP_ESME_RINVSRCADR, exc.detail) from None
        to_phone = our_number(format_address(delivered.destination_addr, delivered.dest_addr_ton), region)
        return InboundText(from_phone=from_phone, to_phone=to_phone, body=delivered.text)

    # --- sending -----------------------------------------------------------------------------

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.send_batch_blocking, texts)

    def send_batch_blocking(self, texts: list[OutgoingText]) -> list[SendResult]:
        started = time.perf_counter()
        with self._submit_lock:
            try:
                self.session.bind()
            except BindError as exc:
                results = [SendResult(t.message_id, Outcome.TRANSIENT, error=f"smpp: bind failed: {exc}") for t in texts]
            else:
                results = self._submit_all(texts)
        latency_ms = int((time.perf_counter() - started) * 1000)
        for result in results:
            result.latency_ms = latency_ms
        return results

    def _submit_all(self, texts: list[OutgoingText]) -> list[SendResult]:
        jobs = [_TextJob(text, self) for text in texts]
        timeout = float(self.options["response_timeout_s"])
        while active := [job for job in jobs if job.result is None]:
            if any(job.retrying for job in active):
                time.sleep(THROTTLED_RETRY_AFTER_S / 4)
            if not self.session.alive and any(job.index for job in active):
                try:  # a long text halfway through: bind again to finish it with the same reference
                    self.session.bind()
                except BindError:
                    pass
            in_flight = []
            for job in active:
                try:
                    in_flight.append((job, self.session.submit(timeout=timeout, **job.fields())))
                except NotSent as exc:
                    job.not_sent(str(exc))
            for job, future in in_flight:
                try:
                    job.answered(future.result(timeout=timeout))
                except ConnectionLost as exc:
                    job.lost(str(exc))
                except concurrent.futures.TimeoutError:
                    self.session.forget(future)
                    job.lost(f"no submit_sm_resp within {timeout:g} s")
        return [job.result for job in jobs]

    def next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    def addresses(self, text: OutgoingText) -> dict[str, Any]:
        source = text.from_phone.strip()
        if source.startswith("+") or (source.isdigit() and len(source) > 8):
            source_ton, source_npi, source = 1, 1, source.lstrip("+")
        elif source.isdigit():  # a short code
            source_ton, source_npi = 0, 1
        else:  # an alphanumeric sender id
            source_ton, source_npi = 5, 0
        options = self.options
        return {
            "source_addr": source,
            "source_addr_ton": source_ton if options["source_addr_ton"] is None else int(options["source_addr_ton"]),
            "source_addr_npi": source_npi if options["source_addr_npi"] is None else int(options["source_addr_npi"]),
            "destination_addr": text.to_phone.strip().lstrip("+"),
            "dest_addr_ton": int(options["dest_addr_ton"]),
            "dest_addr_npi": int(options["dest_addr_npi"]),
        }

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.session.close)
        self._executor.shutdown(wait=False, cancel_futures=True)


class _TextJob:
    """One text on its way: its parts go one after another; `result` is set when it's settled."""

    def __init__(self, text: OutgoingText, provider: SmppProvider):
        self.text, self.provider = text, provider
        self.result: SendResult | None = None
        self.part_ids: list[str] = []
        self.index = 0  # the part to send next
        self.tries = 0  # of the current part
        self.retrying = False
        self.reference = provider.next_reference()
        try:
            self.parts: list[SubmitPart] = submit_parts(text.body, self.reference)
        except (ValueError, UnicodeEncodeError) as exc:
            self.parts = []
            self._settle(Outcome.PERMANENT, f"smpp: cannot encode the text: {exc}")
            return
        self.address = provider.addresses(text)

    def fields(self) -> dict[str, Any]:
        part = self.parts[self.index]
        self.tries += 1
        return {**self.address, "short_message": part.short_message, "data_coding": part.data_coding,
                "esm_class": part.esm_class, "registered_delivery": 1}

    def answered(self, response: SubmitResponse) -> None:
        status = response.command_status
        if status == smpp_consts.SMPP_ESME_ROK:
            self.part_ids.append(response.message_id or "")
            self.index, self.tries, self.retrying = self.index + 1, 0, False
            if self.index == len(self.parts):
                self._settle(Outcome.ACCEPTED, "", status)
            return
        message = f"smpp: {describe_status(status)} ({error_code(status)})"
        if status in TRANSIENT_STATUSES:
            self._transient(message, status)
        else:
            self._settle(Outcome.PERMANENT, self._partial(message), status)

    def not_sent(self, reason: str) -> None:
        self._transient(f"smpp: not sent: {reason}", None)

    def lost(self, reason: str) -> None:
        self._settle(Outcome.UNKNOWN, f"smpp: {reason}")

    def _transient(self, message: str, status: int | None) -> None:
        if self.index == 0:  # nothing of this text reached the phone: the dispatcher retries it
            self._settle(Outcome.TRANSIENT, message, status,
                         retry_after_s=THROTTLED_RETRY_AFTER_S if status in TRANSIENT_STATUSES else None)
        elif self.tries <= int(self.provider.options["part_retries"]):
            self.retrying = True
        else:
            self._settle(Outcome.PERMANENT, self._partial(message), status)

    def _partial(self, message: str) -> str:
        if not self.index:
            return message
        return f"{message}; partially sent: {self.index} of {len(self.parts)} parts accepted"

    def _settle(self, outcome: Outcome, error: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        first_id = self.part_ids[0] if self.part_ids else None
        response = {"message_ids": list(self.part_ids)}
        if status is not None:
            response["command_status"] = error_code(status)
        self.result = SendResult(
            self.text.message_id, outcome, provider_message_id=first_id, error=error,
            error_code=error_code(status) if status not in (None, smpp_consts.SMPP_ESME_ROK) else "",
            request={"to": self.text.to_phone, "from": self.text.from_phone, "parts": len(self.parts),
                     "data_coding": self.parts[0].data_coding if self.parts else None, "reference": self.reference},
            response=response, retry_after_s=retry_after_s,
        )
        if outcome != Outcome.ACCEPTED:
            log.info("smpp.not_accepted", message_id=self.text.message_id, outcome=outcome.value, error=error)


def _check_int(value, field: str, low: int, high: int) -> None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high or (isinstance(value, float) and value != number):
        raise ProviderConfigError(f"{field} must be a whole number from {low} to {high}", field=field)
