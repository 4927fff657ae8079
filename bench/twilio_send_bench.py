"""Twilio provider: texts/s handed over by `TwilioProvider.send_batch` against a fake Twilio.

The fake (an aiohttp server in its own process on 127.0.0.1) answers each Messages.json POST
after 50 ms with Twilio's 201 JSON, like a provider across a network. The provider is driven
the way the dispatcher drives it: batches of 50 texts, several batches overlapping (200
requests in flight), one provider instance (one aiohttp session). Every answer is checked to
be ACCEPTED with a distinct sid.

Baseline, same run, same fake, same concurrency: the same form POSTs with httpx.AsyncClient
(the obvious client; notes/performance.md says its pool degrades past ~20 in flight).

    .venv/bin/python bench/twilio_send_bench.py [--quick]
"""
import asyncio
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

NAME = "twilio_send"
TITLE = "Twilio provider: texts/s through send_batch (aiohttp) against a 50 ms fake Twilio, vs httpx"
SIZES = {"quick": {"texts": 1_000}, "default": {"texts": 6_000}}
BATCH, IN_FLIGHT_BATCHES, LATENCY_S = 50, 4, 0.05
ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "f" * 32

FAKE_SERVER = f"""
import asyncio, itertools, sys
from aiohttp import web
counter = itertools.count()
async def messages(request):
    form = await request.post()
    await asyncio.sleep({LATENCY_S})
    return web.json_response(status=201, data={{"sid": "SM%032x" % next(counter), "status": "queued", "to": form["To"],
                                               "num_segments": "1", "num_media": "0"}})
app = web.Application()
app.router.add_post("/2010-04-01/Accounts/{{account}}/Messages.json", messages)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _texts(count: int):
    from textpilot.delivery.providers.base import OutgoingText

    return [OutgoingText(message_id=i, store_id=1, to_phone=f"+1212555{i % 10_000:04d}", from_phone="+14155550100",
                         body="Acme: your order shipped! Track it at https://acme.co/t/abc123 Reply STOP to opt out",
                         status_callback_url=f"https://sms.acme.test/webhooks/twilio/acme/status?mid={i}")
            for i in range(count)]


async def _overlapped(send_batch, texts) -> tuple[float, list]:
    """Batches of 50, IN_FLIGHT_BATCHES at a time; returns (seconds, every answer)."""
    semaphore = asyncio.Semaphore(IN_FLIGHT_BATCHES)

    async def one(chunk):
        async with semaphore:
            return await send_batch(chunk)

    started = time.perf_counter()
    results = await asyncio.gather(*(one(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)))
    seconds = time.perf_counter() - started
    return seconds, [r for batch in results for r in batch]


async def _with_provider(base_url: str, texts):
    from textpilot.delivery.providers.twilio.provider import TwilioProvider

    provider = TwilioProvider(credentials={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
                              options={"base_url": base_url, "max_connections": BATCH * IN_FLIGHT_BATCHES})
    try:
        await provider.send_batch(texts[:BATCH])  # warm the pool
        seconds, results = await _overlapped(provider.send_batch, texts)
    finally:
        await provider.close()
    accepted = [r for r in results if r.outcome.value == "accepted"]
    assert len(accepted) == len(texts) and len({r.provider_message_id for r in accepted}) == len(texts), "not all accepted"
    return seconds


async def _with_httpx(base_url: str, texts):
    import httpx

    url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    limits = httpx.Limits(max_connections=BATCH * IN_FLIGHT_BATCHES)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), limits=limits, timeout=60) as client:
        async def send_batch(chunk):
            async def one(text):
                response = await client.post(url, data={"To": text.to_phone, "From": text.from_phone, "Body": text.body,
                                                         "StatusCallback": text.status_callback_url})
                return response.status_code == 201 and response.json()["sid"]
            return await asyncio.gather(*(one(t) for t in chunk))

        await send_batch(texts[:BATCH])
        seconds, results = await _overlapped(send_batch, texts)
    assert all(results), "not all accepted"
    return seconds


def run(quick: bool = False, full: bool = False) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one info line per request otherwise
    size = SIZES["quick" if quick else "default"]
    started_at, started, load_before = harness.machine_info()["date"], time.perf_counter(), os.getloadavg()[0]
    port = harness.free_port()
    server = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, str(port)])
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(port)
        texts = _texts(size["texts"])
        cpu_before = _cpu_seconds()
        ours = asyncio.run(_with_provider(base_url, texts))
        client_cpu = _cpu_seconds() - cpu_before
        # httpx is far slower: a sixth of the texts keeps the run short.
        httpx_count = max(BATCH * IN_FLIGHT_BATCHES, len(texts) // 6)
        httpx_seconds = asyncio.run(_with_httpx(base_url, texts[:httpx_count]))
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate, baseline = len(texts) / ours, httpx_count / httpx_seconds
    metrics = [
        harness.metric(f"texts handed over, {BATCH * IN_FLIGHT_BATCHES} in flight", rate, "texts/s",
                       baseline=baseline, baseline_label="httpx.AsyncClient, same fake and concurrency"),
        harness.metric("speed-up over httpx", rate / baseline, "×"),
        harness.metric("client CPU per 1,000 texts (provider, this process)", client_cpu / len(texts) * 1000, "s"),
        harness.metric("ceiling set by the fake's latency (in flight / 50 ms)", BATCH * IN_FLIGHT_BATCHES / LATENCY_S, "texts/s"),
    ]
    notes = [f"{len(texts):,} texts through the provider, {httpx_count:,} through httpx; the fake runs in its own "
             f"process on the same 2 cores, so it competes with the client for CPU.",
             f"1-minute load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores."]
    return {
        "name": NAME, "title": TITLE, "description": __doc__.split("\n\n")[1],
        "params": {"texts": len(texts), "batch": BATCH, "batches_in_flight": IN_FLIGHT_BATCHES, "latency_ms": LATENCY_S * 1000},
        "machine": harness.machine_info(), "started_at": started_at, "seconds": time.perf_counter() - started,
        "notes": notes,
        "runs": [{"label": "one process, asyncio", "database": {"vendor": "none", "version": ""}, "metrics": metrics}],
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wait_for(port: int, seconds: float = 15.0) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the fake Twilio did not start")


if __name__ == "__main__":
    sys.exit(harness.run_standalone(run, __doc__))
