"""The simulated carrier: the demo's and the tests' phone network.

It keeps its own log (`SimDelivery`, the provider side: one row per accepted submission,
duplicates included) and answers lookups by our message id, like a provider with an
idempotency key would. Latency, failure rate and the delay of delivery receipts are options
of the sender. Receipts are posted by `deliver_due_receipts` (run by the dispatcher loop).
The option `answers_lookups` (default true, not offered in the sender form) set to false makes
it a provider without lookup, like Kannel or SMPP: after a crash its texts stay `unknown`
until their receipt arrives (the exactly-once tests run both kinds)."""
from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.utils import timezone

from textpilot.common.bulk_insert import insert_rows
from textpilot.delivery.providers.base import LookupResult, OutgoingText, Outcome, Provider, SendResult, register


@register
class SimProvider(Provider):
    name = "sim"
    label = "Simulated phone (demo and tests)"
    option_fields = {
        "latency_ms": 50,  # each submission takes this long
        "failure_rate": 0.0,  # share of submissions answered with a transient error
        "undelivered_rate": 0.0,  # share of accepted texts whose receipt says undelivered
        "dlr_delay_s": 1.0,  # receipts arrive this long after acceptance
    }
    supports_lookup = True
    _log_writer: ThreadPoolExecutor | None = None

    def __init__(self, credentials=None, options=None):
        super().__init__(credentials, options)
        self.supports_lookup = bool(self.options.get("answers_lookups", True))

    def _writer(self) -> ThreadPoolExecutor:
        """The carrier log is written by one thread that keeps its database connection: a new
        connection per call (a PostgreSQL backend forked 40 times a second) was the largest
        cost of sending. `close()` closes that connection."""
        if self._log_writer is None:
            self._log_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-carrier-log")
        return self._log_writer

    async def close(self) -> None:
        writer, self._log_writer = self._log_writer, None
        if writer is not None:
            from django.db import connections

            await asyncio.get_running_loop().run_in_executor(writer, connections.close_all)
            writer.shutdown(wait=True)

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        latency = float(self.options["latency_ms"]) / 1000
        failure_rate = float(self.options["failure_rate"])
        started, received_at = time.perf_counter(), timezone.now()
        await asyncio.sleep(latency)  # the submissions of a batch travel concurrently
        results, accepted = [], []
        for text in texts:
            if failure_rate and random.random() < failure_rate:
                results.append(SendResult(text.message_id, Outcome.TRANSIENT, error="sim: simulated 503 from the carrier",
                                          error_code="503"))
                continue
            provider_id = "SM" + secrets.token_hex(12)
            accepted.append((text, provider_id))
            results.append(SendResult(text.message_id, Outcome.ACCEPTED, provider_message_id=provider_id,
                                      request={"to": text.to_phone, "from": text.from_phone}, response={"sid": provider_id}))
        if accepted:
            await asyncio.get_running_loop().run_in_executor(self._writer(), _log_accepted, accepted, self.options, received_at)
        latency_ms = int((time.perf_counter() - started) * 1000)
        for result in results:
            result.latency_ms = latency_ms
        return results

    async def lookup(self, text: OutgoingText) -> LookupResult:
        row = await sync_to_async(_find, thread_sensitive=False)(text.message_id)
        return LookupResult(found=row is not None, provider_message_id=row)


def _in_own_connection(fn):
    """The carrier's writes run on asgiref's worker threads: close the connection after each
    call so no session outlives the dispatcher (a test database could not be dropped)."""
    def wrapper(*args, **kwargs):
        from django.db import connections

        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return wrapper


_LOG_COLUMNS = ("store_id", "client_ref", "provider_message_id", "to_phone", "from_phone", "body", "accepted_at",
                "receipt_due_at", "receipt_status")


def _log_accepted(accepted, options, received_at) -> None:
    """Runs on the provider's one log thread, whose connection stays open until close()."""
    from django.db import connection

    from textpilot.delivery.models import SimDelivery

    due = received_at + dt.timedelta(seconds=float(options["dlr_delay_s"]))
    undelivered_rate = float(options["undelivered_rate"])
    try:
        insert_rows(SimDelivery, _LOG_COLUMNS, [
            (text.store_id, str(text.message_id), provider_id, text.to_phone, text.from_phone, text.body, received_at, due,
             "undelivered" if undelivered_rate and random.random() < undelivered_rate else "delivered")
            for text, provider_id in accepted
        ])
    except Exception:
        connection.close()  # a broken connection is not reused by the next call
        raise


@_in_own_connection
def _find(message_id: int) -> str | None:
    from textpilot.delivery.models import SimDelivery

    return SimDelivery.objects.filter(client_ref=str(message_id)).values_list("provider_message_id", flat=True).first()


def deliver_due_receipts(limit: int = 2000) -> int:
    """The simulated carrier posting its delivery receipts (synchronous)."""
    from textpilot.delivery import service
    from textpilot.delivery.models import SimDelivery
    from textpilot.stores.models import Store

    due = list(SimDelivery.objects.filter(receipt_sent_at__isnull=True, receipt_due_at__lte=timezone.now())
               .order_by("receipt_due_at")[:limit])
    stores = {s.pk: s for s in Store.objects.filter(pk__in={row.store_id for row in due})}
    for row in due:
        if row.store_id in stores:
            service.apply_delivery_report(
                stores[row.store_id], provider="sim", provider_message_id=row.provider_message_id,
                message_id=int(row.client_ref), status=row.receipt_status,
                error_code="" if row.receipt_status == "delivered" else "30003",
                reason="" if row.receipt_status == "delivered" else "sim: unreachable handset",
                raw={"id": row.provider_message_id, "status": row.receipt_status},
            )
    SimDelivery.objects.filter(pk__in=[row.pk for row in due]).update(receipt_sent_at=timezone.now())
    return len(due)
