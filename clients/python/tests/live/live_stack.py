"""Glue of the live suite: the stack `clients/live-stack.sh` started, tenants
made with the admin CLI, and the small loopback servers the tests need.

Without ``IMAGESAAS_LIVE_BASE_URL`` the live tests are skipped (a plain
``pytest`` of this package runs the fake suite only); with it, a stack that
does not answer fails them.
"""

from __future__ import annotations

import http.client
import json
import os
import struct
import subprocess
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

BASE_URL = os.environ.get("IMAGESAAS_LIVE_BASE_URL")
ADMIN = os.environ.get("IMAGESAAS_LIVE_ADMIN")
DEV_KEY = os.environ.get("IMAGESAAS_LIVE_DEV_KEY", "img_test_dev_123456789")
SKIP_REASON = "no local stack: run through `bash clients/live-stack.sh` (make test does)"

SUBMIT_PATH = "/v1/images/generate"


@dataclass
class Tenant:
    tenant_id: str
    key: str
    webhook_secret: Optional[str] = None


def admin(*args: str) -> Dict[str, Any]:
    """One admin CLI command, its JSON answer."""
    assert ADMIN, "IMAGESAAS_LIVE_ADMIN is not set"
    done = subprocess.run([ADMIN, "--json", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"imagesaas-admin {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def new_tenant(
    name: str,
    *,
    rpm: int = 100_000,
    max_concurrency: int = 1_000,
    webhook_url: Optional[str] = None,
    monthly_image_quota: Optional[int] = None,
) -> Tenant:
    """A tenant of its own for one test, and a test key of it."""
    args = ["tenant", "create", "--name", name, "--rpm", str(rpm), "--max-concurrency", str(max_concurrency)]
    if webhook_url is not None:
        args += ["--webhook-url", webhook_url]
    if monthly_image_quota is not None:
        args += ["--monthly-image-quota", str(monthly_image_quota)]
    made = admin(*args)
    key = admin("key", "create", "--tenant", made["tenantId"], "--mode", "test")["key"]
    return Tenant(tenant_id=made["tenantId"], key=key, webhook_secret=made.get("webhookSecret"))


def until(what: str, check: Callable[[], Any], *, timeout: float = 120.0, every: float = 0.2) -> Any:
    """Polls ``check`` until it returns something truthy; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid RGB PNG, without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class LocalServer:
    """A threaded HTTP server on a free loopback port, for the life of a ``with``."""

    def __init__(self, handler: type) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "LocalServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=30)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # the test's output stays readable
        pass

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StallingImage(LocalServer):
    """Serves a PNG only once released (or after ``hold`` seconds, below the
    worker's 20 s fetch timeout): a job with it as ``inputImageUrl`` stays
    non-terminal, holding its concurrency slot, for as long as a test needs."""

    def __init__(self, hold: float = 15.0) -> None:
        self.released = threading.Event()
        self.hold = hold
        self.fetches = 0
        super().__init__(_StallHandler)

    @property
    def image_url(self) -> str:
        return f"{self.url}/reference.png"

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        super().close()


class _StallHandler(_Quiet):
    def do_GET(self) -> None:
        owner: StallingImage = self.server.owner  # type: ignore[attr-defined]
        owner.fetches += 1
        owner.released.wait(owner.hold)
        self.reply(200, tiny_png(), "image/png")


@dataclass
class Received:
    path: str
    headers: List[Tuple[str, str]]
    body: bytes


class WebhookReceiver(LocalServer):
    """Records every POST (headers as sent, the raw body) and answers 200."""

    def __init__(self) -> None:
        self.received: List[Received] = []
        self.arrived = threading.Condition()
        super().__init__(_ReceiverHandler)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    def wait_for(self, count: int, timeout: float = 120.0) -> List[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} webhook deliveries after {timeout:.0f} s, wanted {count}")
            return list(self.received)


class _ReceiverHandler(_Quiet):
    def do_POST(self) -> None:
        owner: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with owner.arrived:
            owner.received.append(Received(self.path, list(self.headers.items()), body))
            owner.arrived.notify_all()
        self.reply(200, b"{}", "application/json")


@dataclass
class Forwarded:
    method: str
    path: str
    headers: Dict[str, str]  # lower-case names
    status: int
    dropped: bool


class DroppingProxy(LocalServer):
    """Forwards every request to the stack; the first ``drop_submits``
    submits are answered by the stack and then cut: the proxy closes the
    client's connection without a byte of the answer, as a load balancer
    timing out or a network fault would after the job was made."""

    def __init__(self, upstream: str, *, drop_submits: int = 1) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.drop_submits = drop_submits
        self.forwarded: List[Forwarded] = []
        self.lock = threading.Lock()
        super().__init__(_ProxyHandler)

    def submits(self) -> List[Forwarded]:
        with self.lock:
            return [f for f in self.forwarded if f.method == "POST" and f.path == SUBMIT_PATH]


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "date", "server"}


class _ProxyHandler(_Quiet):
    def _forward(self) -> None:
        owner: DroppingProxy = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*owner.upstream, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
        finally:
            upstream.close()
        with owner.lock:
            is_submit = self.command == "POST" and urllib.parse.urlsplit(self.path).path == SUBMIT_PATH
            drop = is_submit and owner.drop_submits > 0
            if drop:
                owner.drop_submits -= 1
            owner.forwarded.append(
                Forwarded(
                    self.command,
                    urllib.parse.urlsplit(self.path).path,
                    {k.lower(): v for k, v in headers.items()},
                    resp.status,
                    drop,
                )
            )
        if drop:
            # No status line, no headers: the connection just ends.
            self.close_connection = True
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _forward


@dataclass
class Exchange:
    """What an httpx event hook saw of one request and its answer."""

    method: str
    path: str
    sent_at: float
    idempotency_key: Optional[str]
    status: Optional[int] = None
    retry_after: Optional[str] = None
    answered_at: Optional[float] = None


@dataclass
class Recorder:
    """httpx event hooks recording each exchange; ``on_status`` runs on every answer."""

    exchanges: List[Exchange] = field(default_factory=list)
    on_status: Optional[Callable[[int], None]] = None

    def request(self, request: Any) -> None:
        self.exchanges.append(
            Exchange(request.method, request.url.path, time.monotonic(), request.headers.get("idempotency-key"))
        )

    def response(self, response: Any) -> None:
        ex = self.exchanges[-1]
        ex.status = response.status_code
        ex.retry_after = response.headers.get("retry-after")
        ex.answered_at = time.monotonic()
        if self.on_status is not None:
            self.on_status(response.status_code)

    def hooks(self) -> Dict[str, List[Callable[[Any], None]]]:
        return {"request": [self.request], "response": [self.response]}

    def submits(self) -> List[Exchange]:
        return [e for e in self.exchanges if e.method == "POST" and e.path.endswith(SUBMIT_PATH)]
