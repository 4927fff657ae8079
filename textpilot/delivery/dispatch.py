"""The dispatcher: an asyncio loop per worker process that moves due messages to providers.

For every active sender it repeatedly claims a batch (lease), runs the compliance gate,
marks what may go as `sending` (committed), hands it to the provider paced by the sender's
rate limit, and records the answers. Database work runs in threads; provider calls
overlap. Orphans (a worker killed mid-call) are recovered by lookup at the provider, or
marked `unknown` until a receipt settles them, never resent blindly.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import structlog
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from textpilot.delivery import claims, gate, gating
from textpilot.delivery.breaker import CircuitBreaker
from textpilot.delivery.crash_hook import CrashHook
from textpilot.delivery.models import PRIORITY_REPLY, Sender
from textpilot.delivery.providers.base import OutgoingText, Outcome, SendResult
from textpilot.delivery.ratelimit import Limiters
from textpilot.common.queue_status import record_dispatcher_heartbeat

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 500
IDLE_POLL_SECONDS = 0.25
SENDER_REFRESH_SECONDS = 5.0
# Batches in flight per sender: while one is in the database (claim, gate, recording), the
# other is being paced out to the provider, so the rate limiter never idles between batches.
LANES_PER_SENDER = 3
# Texts due within this much of each other leave in one provider call: at 1,000/s that is
# calls of ~20 texts instead of ~5 (a per-call cost dominated), at most 20 ms early.
PACING_TICK_SECONDS = 0.02
MAX_TEXTS_PER_CALL = 50
# Most a single provider call may take; kept well under the lease so a slow call ends
# before another dispatcher may look at the message.
CALL_TIMEOUT_SECONDS = min(30.0, claims.LEASE_SECONDS / 2)
# How long a stopping dispatcher lets the batches in flight finish (pacing, provider calls,
# recording) before cancelling them: a cancelled call may have reached the provider, and
# its texts then wait for orphan recovery instead of being recorded at once.
STOP_DRAIN_SECONDS = CALL_TIMEOUT_SECONDS + 5.0
# How often the dispatcher looks for keyword replies (a STOP's confirmation) to send ahead
# of every batch already claimed: one read of a small partial index.
URGENT_POLL_SECONDS = 0.05


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def status_callback_base() -> str:
    return getattr(settings, "TEXTPILOT_PUBLIC_URL", "").rstrip("/")


class Dispatcher:
    def __init__(self, *, owner: str | None = None, batch_size: int = DEFAULT_BATCH, threads: int = 4):
        self.owner = owner or worker_name()
        self.batch_size = batch_size
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch-db")
        # The last look before each provider call has threads of its own: it must never wait
        # behind a batch's claim or bookkeeping.
        self._check_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dispatch-check")
        self._senders: dict[int, Sender] = {}
        self._providers: dict[int, tuple[float, object]] = {}  # sender id -> (options stamp, provider)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._pacing: dict[int, asyncio.Lock] = {}  # sender id -> one batch paced out at a time
        self._limiters = Limiters(self.owner)
        self._crash_hook = CrashHook()  # test only (crash_hook.py); does nothing otherwise
        self.sent = 0
        self._sent_lock = threading.Lock()

    async def _db(self, fn, *args, executor: ThreadPoolExecutor | None = None, **kwargs):
        def call():
            close_old_connections()
            try:
                return fn(*args, **kwargs)
            finally:
                close_old_connections()

        return await asyncio.get_running_loop().run_in_executor(executor or self._executor, call)

    # --- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: one task per active sender, refreshed every few seconds."""
        tasks: dict[int, asyncio.Task] = {}
        log.info("dispatcher.started", owner=self.owner)
        urgent = asyncio.create_task(self._urgent_loop(stop))
        try:
            while not stop.is_set():
                senders = await self._db(lambda: list(Sender.objects.filter(active=True).select_related("store")))
                self._senders = {sender.pk: sender for sender in senders}
                for sender in senders:
                    if sender.pk not in tasks or tasks[sender.pk].done():
                        tasks[sender.pk] = asyncio.create_task(self._sender_loop(sender, stop))
                await self.recover_orphans()
                await self._db(_provider_housekeeping, senders)
                await self._db(record_dispatcher_heartbeat)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=SENDER_REFRESH_SECONDS)
                except asyncio.TimeoutError:
                    pass
        finally:
            running = [*tasks.values(), urgent]
            if stop.is_set():  # lanes stop after the batch in hand: let them finish it
                await asyncio.wait(running, timeout=STOP_DRAIN_SECONDS)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.close()
            released = await asyncio.to_thread(_release_leases, self.owner)
            log.info("dispatcher.stopped", owner=self.owner, sent=self.sent, released=released)

    async def _sender_loop(self, sender: Sender, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._sender_lane(sender, stop) for _ in range(LANES_PER_SENDER)))

    async def _sender_lane(self, sender: Sender, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.dispatch_sender_once(sender)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher.cycle_failed", sender_id=sender.pk)
                handled = 0
            if not handled:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=IDLE_POLL_SECONDS)
                except asyncio.TimeoutError:
                    pass
            sender = await self._db(Sender.objects.select_related("store").get, pk=sender.pk)
            if not sender.active:
                return

    async def _urgent_loop(self, stop: asyncio.Event) -> None:
        """Keyword replies jump every queue: every URGENT_POLL_SECONDS, senders with one due
        get an extra claim of just those, paced by the same limiter but not waiting for the
        batches already claimed (a STOP's confirmation reaches the customer before any text
        that was queued ahead of it)."""
        busy: dict[int, asyncio.Task] = {}
        while not stop.is_set():
            try:
                sender_ids = await self._db(claims.senders_with_urgent, executor=self._check_executor)
                for sender_id in sender_ids:
                    sender = self._senders.get(sender_id)
                    if sender is not None and (sender_id not in busy or busy[sender_id].done()):
                        busy[sender_id] = asyncio.create_task(self.dispatch_sender_once(sender, urgent=True))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher.urgent_failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=URGENT_POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
        await asyncio.gather(*busy.values(), return_exceptions=True)

    async def run_until_idle(self, max_seconds: float = 60.0) -> int:
        """Dispatch everything due now, then return the number of messages handled (tests,
        benchmarks and the `dispatch --once` command)."""
        deadline = time.monotonic() + max_seconds
        total = 0
        while time.monotonic() < deadline:
            senders = await self._db(lambda: list(Sender.objects.filter(active=True).select_related("store")))
            handled = sum(await asyncio.gather(*(self.dispatch_sender_once(s) for s in senders)))
            await self.recover_orphans()
            await self._db(_provider_housekeeping, senders)
            total += handled
            if not handled:
                break
        return total

    # --- one cycle for one sender ---------------------------------------------------------

    async def dispatch_sender_once(self, sender: Sender, urgent: bool = False) -> int:
        """One claim of due texts, gated, paced out and recorded. `urgent` claims only
        keyword replies and skips the queue of batches waiting for their turn to pace."""
        breaker = self._breaker(sender.provider)
        if not breaker.allow():
            return 0
        limiter = self._limiters.for_sender(sender)
        # Claim no more than this dispatcher may send in a couple of seconds (its share when
        # several share the sender): a slow toll-free number must not sit on hundreds of
        # leases, and a batch must be paced out well within its lease.
        limit = max(1, min(self.batch_size, math.ceil(limiter.own_rate * 2)))
        token, claimed = await self._db(claims.claim_due, sender.pk, limit, self.owner,
                                        max_priority=PRIORITY_REPLY if urgent else None)
        if not claimed:
            return 0
        now = timezone.now()
        checks: dict = {}
        decisions = await self._db(gating.gate_batch, claimed, now, checks)
        to_send = await self._db(claims.apply_gate, token, claimed, decisions, now, checks)
        held_late: set[int] = set()
        if to_send:
            provider = self._provider(sender)
            by_id = {m.pk: m for m in to_send}

            async def last_look(texts: list[OutgoingText]) -> list[OutgoingText]:
                held = await self._db(gating.recheck_before_call, token, [by_id[t.message_id] for t in texts], checks,
                                      executor=self._check_executor)
                held_late.update(held)
                return [t for t in texts if t.message_id not in held]

            # Keyword replies in the batch don't wait for the lane's turn to pace; the rest do.
            replies = [self._outgoing(m, sender) for m in to_send if m.priority <= PRIORITY_REPLY]
            texts = [self._outgoing(m, sender) for m in to_send if m.priority > PRIORITY_REPLY]
            pacing = None if urgent else self._pacing.setdefault(sender.pk, asyncio.Lock())
            sent = await asyncio.gather(self._send_paced(provider, limiter, replies, breaker, None, last_look),
                                        self._send_paced(provider, limiter, texts, breaker, pacing, last_look))
            results = [result for part in sent for result in part]
            self._crash_hook.after_provider_accepted(sum(1 for r in results if r.outcome == Outcome.ACCEPTED))
            await self._db(self._record_and_count, token, by_id, results, sender.provider)
        if held_late:
            log.info("dispatcher.held_at_call", sender_id=sender.pk, held=len(held_late))
        suppressed = sum(1 for d in decisions.values() if d.action == gate.SUPPRESS)
        log.debug("dispatcher.cycle", sender_id=sender.pk, claimed=len(claimed), sent=len(to_send), suppressed=suppressed)
        return len(claimed)

    def _record_and_count(self, token: str, by_id: dict, results: list[SendResult], provider: str) -> None:
        """Runs in a database thread: the count is taken there, with the commit, so a stop that
        cancels the waiting coroutine (SIGTERM right after the last batch) loses no sent text
        from `self.sent` (close() waits for the thread before "dispatcher.stopped" is logged)."""
        counts = claims.record_results(token, by_id, results, provider)
        with self._sent_lock:
            self.sent += counts.get(Outcome.ACCEPTED.value, 0)

    async def _send_paced(self, provider, limiter, texts: list[OutgoingText], breaker: CircuitBreaker,
                          pacing: asyncio.Lock | None = None, last_look=None) -> list[SendResult]:
        """Hand texts over at the sender's rate: chunks leave as soon as their tokens are
        due, and calls overlap (a 50 ms provider doesn't cap us at 20 texts a second). With
        `pacing`, the lanes of a sender take turns: one batch is paced out whole while the
        others are in the database, instead of all of them interleaving and then pausing
        together (the limiter would idle). `last_look(texts)` runs immediately before each
        provider call and returns the texts that may still go."""
        calls = []
        async with pacing or contextlib.nullcontext():
            calls = self._paced_calls(provider, limiter, texts, breaker, last_look)
            calls = [call async for call in calls]
        results: list[SendResult] = []
        for batch in await asyncio.gather(*calls):
            results.extend(batch)
        return results

    async def _paced_calls(self, provider, limiter, texts: list[OutgoingText], breaker: CircuitBreaker, last_look=None):
        """One provider call per block of texts whose slots fall within a pacing tick, made when
        the block's first slot starts (its last slot is at most a tick later). One booking
        per block: with the schedule in Redis, one round trip per call, not per text."""
        block = max(1, min(MAX_TEXTS_PER_CALL, int(limiter.rate * PACING_TICK_SECONDS)))
        for start in range(0, len(texts), block):
            chunk = texts[start:start + block]
            wait = await limiter.reserve(len(chunk))
            if wait > 0:
                await asyncio.sleep(wait)
            yield asyncio.create_task(self._call(provider, chunk, breaker, last_look))

    async def _call(self, provider, texts: list[OutgoingText], breaker: CircuitBreaker, last_look=None) -> list[SendResult]:
        if last_look is not None:
            try:
                texts = await last_look(texts)
            except Exception:
                # Can't tell whether they may still go: send nothing now. The provider never
                # saw them, so they are queued again with backoff like after a transient error.
                log.exception("dispatcher.last_look_failed")
                return [SendResult(t.message_id, Outcome.TRANSIENT, error="last consent check failed") for t in texts]
            if not texts:
                return []
        try:
            results = await asyncio.wait_for(provider.send_batch(texts), timeout=CALL_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            # The provider may have taken them: never resend blindly.
            breaker.record(False)
            return [SendResult(t.message_id, Outcome.UNKNOWN, error="provider call timed out") for t in texts]
        except Exception as exc:  # a provider bug must not lose the batch's bookkeeping
            breaker.record(False)
            log.exception("dispatcher.provider_error", provider=getattr(provider, "name", "?"))
            return [SendResult(t.message_id, Outcome.UNKNOWN, error=f"{type(exc).__name__}: {exc}"[:500]) for t in texts]
        for result in results:
            breaker.record(result.outcome in (Outcome.ACCEPTED, Outcome.PERMANENT))
        return results

    def _outgoing(self, message, sender: Sender) -> OutgoingText:
        base = status_callback_base()
        callback = f"{base}/webhooks/{sender.provider}/{message.store.slug}/status?mid={message.pk}" if base else ""
        return OutgoingText(
            message_id=message.pk, store_id=message.store_id, to_phone=message.to_phone,
            from_phone=message.from_phone or sender.from_number, body=message.body,
            media_urls=tuple(message.media_urls or ()), status_callback_url=callback,
        )

    def _provider(self, sender: Sender):
        from textpilot.delivery.service import provider_for

        stamp = hash((sender.provider, repr(sorted(sender.options.items())), sender.credentials_encrypted))
        cached = self._providers.get(sender.pk)
        if cached is None or cached[0] != stamp:
            if cached is not None:  # the sender's settings changed: let the old client go cleanly
                asyncio.get_running_loop().create_task(cached[1].close())
            self._providers[sender.pk] = (stamp, provider_for(sender))
        return self._providers[sender.pk][1]

    def _breaker(self, provider_name: str) -> CircuitBreaker:
        if provider_name not in self._breakers:
            self._breakers[provider_name] = CircuitBreaker(provider_name)
        return self._breakers[provider_name]

    # --- recovery -------------------------------------------------------------------------

    async def recover_orphans(self) -> int:
        orphans = await self._db(claims.expired_sending)
        for message in orphans:
            sender = message.sender
            found, provider_id = None, None
            if sender is not None:
                provider = self._provider(sender)
                if provider.supports_lookup:
                    try:
                        answer = await asyncio.wait_for(provider.lookup(self._outgoing(message, sender)), CALL_TIMEOUT_SECONDS)
                        found, provider_id = answer.found, answer.provider_message_id
                    except Exception:
                        log.warning("dispatcher.lookup_failed", message_id=message.pk)
                        continue  # try again next round rather than guess
            outcome = await self._db(claims.resolve_orphan, message, found=found, provider_message_id=provider_id)
            log.info("dispatcher.orphan", message_id=message.pk, outcome=outcome)
        return len(orphans)

    async def close(self) -> None:
        await self._limiters.close()
        for _, provider in self._providers.values():
            try:
                await provider.close()
            except Exception:
                log.warning("dispatcher.close_failed")
        for executor in (self._executor, self._check_executor):
            await asyncio.get_running_loop().run_in_executor(None, _close_thread_connections, executor)
            executor.shutdown(wait=True)


def _close_thread_connections(executor: ThreadPoolExecutor) -> None:
    """Close the database connection of every executor thread (a dropped test database or a
    stopped worker must not leave sessions behind)."""
    threads = executor._max_workers
    barrier = threading.Barrier(threads)

    def close_mine():
        connections.close_all()
        try:
            barrier.wait(timeout=5)  # hold this thread so each task lands on another one
        except threading.BrokenBarrierError:
            pass

    for future in [executor.submit(close_mine) for _ in range(threads)]:
        future.result()


def _release_leases(owner: str) -> int:
    try:
        return claims.release_leases(owner)
    finally:
        connections.close_all()


def _provider_housekeeping(senders: list[Sender]) -> int:
    """Each provider with an active sender does its own housekeeping (`Provider.periodic`:
    the sim posts its due receipts), once per provider; one failing doesn't stop the others."""
    from textpilot.delivery.providers.base import provider_class

    done, now = 0, timezone.now()
    for name in sorted({sender.provider for sender in senders}):
        try:
            done += provider_class(name).periodic(now)
        except Exception:
            log.exception("dispatcher.periodic_failed", provider=name)
    return done


def dispatch_until_idle(max_seconds: float = 60.0, **kwargs) -> int:
    """Synchronous entry for tests and commands."""
    async def run():
        dispatcher = Dispatcher(**kwargs)
        try:
            return await dispatcher.run_until_idle(max_seconds)
        finally:
            await dispatcher.close()

    return asyncio.run(run())
