"""A real Kannel gateway on 127.0.0.1 for the tests: bearerbox, smsbox and the fake SMS centre
`fakesmsc` from Debian's `kannel`/`kannel-extras` (installed by .ci/run), each started on free
ports and stopped by its own PID. textpilot itself answers on pytest-django's live server."""
import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

BEARERBOX, SMSBOX, FAKESMSC = "/usr/sbin/bearerbox", "/usr/sbin/smsbox", "/usr/lib/kannel/test/fakesmsc"
TOKEN = "kannel-webhook-token-0123456789"
SENDER_NUMBER = "+14155550100"
MAX_MESSAGES = 10  # Kannel's sendsms-user max-messages and the sender's max_messages option
# fakesmsc's log line for every text it gets: "Got message N: <from to kind rest>".
GOT_MESSAGE = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) ?(.*)>$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s: {log.read_text()[-2000:]}")


class KannelGateway:
    def __init__(self, workdir: Path, app_url: str, store_slug: str):
        for binary in (BEARERBOX, SMSBOX, FAKESMSC):
            if not Path(binary).exists():
                raise RuntimeError(f"{binary} is missing: apt-get install kannel kannel-extras (.ci/run does)")
        self.workdir = workdir
        self.admin_port, self.smsbox_port, self.smsc_port, self.sendsms_port = (free_port() for _ in range(4))
        self.base_url = f"http://127.0.0.1:{self.sendsms_port}"
        self.processes: list[subprocess.Popen] = []
        self.fakesmsc: subprocess.Popen | None = None
        self.fakesmsc_log = workdir / "fakesmsc.log"
        get_url = f"{app_url}/webhooks/kannel/{store_slug}/inbound?from=%p&to=%P&text=%a&charset=%C&id=%I&token={TOKEN}"
        self.config = workdir / "kannel.conf"
        self.config.write_text(f"""
group = core
admin-port = {self.admin_port}
admin-password = test
smsbox-port = {self.smsbox_port}
box-allow-ip = "127.0.0.1"
dlr-storage = internal
log-file = "{workdir}/bearerbox.log"

group = smsc
smsc = fake
smsc-id = FAKE
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
log-file = "{workdir}/smsbox.log"

group = sendsms-user
username = tp
password = tp-secret
max-messages = {MAX_MESSAGES}
concatenation = true

group = sms-service
keyword = default
get-url = "{get_url}"
max-messages = 0
""")

    def _start(self, args, log_name):
        log = self.workdir / log_name
        process = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=self.workdir)
        self.processes.append(process)
        return process, log

    def start(self) -> "KannelGateway":
        bearerbox, log = self._start([BEARERBOX, str(self.config)], "bearerbox.out")
        wait_for_port(self.smsbox_port, bearerbox, log)
        smsbox, log = self._start([SMSBOX, str(self.config)], "smsbox.out")
        wait_for_port(self.sendsms_port, smsbox, log)
        self.start_fakesmsc()
        return self

    def start_fakesmsc(self, *messages: str, count: int = 0) -> None:
        """The fake SMS centre: prints every text it gets; sends `count` inbound texts."""
        if self.fakesmsc is not None:
            self._stop(self.fakesmsc)
            self.processes.remove(self.fakesmsc)
        args = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0.5", "-m", str(count),
                *(messages or ("+12125550199 +14155550100 text nothing",))]
        self.fakesmsc, _ = self._start(args, self.fakesmsc_log.name)
        time.sleep(0.5)

    def log(self) -> str:
        return self.fakesmsc_log.read_text(errors="replace")

    def texts(self, data_encoding: str = "latin-1") -> list[str]:
        """Every text the fake SMS centre got, its parts put back together. fakesmsc prints
        "text <body>", "ucs-2 <UTF-16BE url-encoded>" or, for a part of a long text,
        "udh <UDH> data <bytes url-encoded>" (the bytes' encoding isn't printed: GSM texts
        come as 8-bit, UCS-2 texts as UTF-16BE, hence `data_encoding`)."""
        texts, parts = [], {}
        for line in self.log().splitlines():
            found = GOT_MESSAGE.search(line)
            if not found:
                continue
            kind, rest = found.group(3), found.group(4)
            if kind == "text":
                texts.append(rest)
            elif kind == "ucs-2":
                texts.append(_bytes(rest).decode("utf-16-be"))
            elif kind == "udh":
                udh, _, data = rest.partition(" data ")
                header = _bytes(udh)  # 05 00 03 <reference> <total> <sequence>
                reference, total, sequence = header[3], header[4], header[5]
                parts.setdefault(reference, {})[sequence] = _bytes(data)
                if len(parts[reference]) == total:
                    pieces = parts.pop(reference)
                    joined = b"".join(pieces[n] for n in range(1, total + 1))
                    texts.append(joined.decode(data_encoding))
        return texts

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        for process in reversed(self.processes):
            self._stop(process)


def _bytes(url_encoded: str) -> bytes:
    return unquote_to_bytes(url_encoded.replace("+", " "))


def wait_until(condition, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


@pytest.fixture
def kannel_store(transactional_db, store):
    from textpilot.delivery import service

    service.create_sender(store, name="Kannel", provider="kannel", from_number=SENDER_NUMBER, number_type="long_code",
                          rate_per_second=50, credentials={"username": "tp", "password": "tp-secret", "webhook_token": TOKEN})
    return store


@pytest.fixture
def kannel(kannel_store, live_server, settings, tmp_path):
    from textpilot.delivery import service

    settings.TEXTPILOT_PUBLIC_URL = live_server.url
    gateway = KannelGateway(tmp_path, live_server.url, kannel_store.slug)
    sender = service.list_senders(kannel_store).get(provider="kannel")
    sender.options = {**sender.options, "base_url": gateway.base_url, "max_messages": MAX_MESSAGES}
    sender.save(update_fields=["options"])
    try:
        yield gateway.start()
    finally:
        gateway.stop()
