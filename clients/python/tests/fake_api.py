"""FakeImageSaaS: an in-process stand-in for the API, on ``httpx.MockTransport``.

NOT the service. It answers the routes of docs/API.md with the contract's
JSON shapes (the job view, list items, deliveries, usage, errors, headers)
and enough behaviour for the client's tests: keys, strict body fields,
idempotency replays, RPM and quota headers, signed-looking cursors,
``Prefer: wait`` and ``?wait=N``, and scripted faults (an error answer, a
dropped connection before or after the request was processed). The suite
against a real ``make dev`` stack is still to be added (see README.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import re
import string
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, unquote

import httpx

DEV_KEY = "img_test_dev_123456789"
LIVE_KEY = "img_live_dev_123456789"

ALLOWED_FIELDS = (
    "prompt",
    "mode",
    "inputImageUrl",
    "inputImageUrls",
    "aspectRatio",
    "imageSize",
    "numberOfImages",
    "outputFormat",
    "outputQuality",
    "webhookUrl",
    "deadlineSeconds",
)
STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "RETRYING", "CANCELED")
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")
_JOB_ID = re.compile(r"^c[a-z0-9]{24}$")


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def new_job_id(rng: random.Random) -> str:
    return "c" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(24))


@dataclass
class FakeJob:
    id: str
    livemode: bool
    prompt: str
    body: Dict[str, Any]
    created_at: dt.datetime
    status: str = "QUEUED"
    updated_at: Optional[dt.datetime] = None
    error: Optional[Dict[str, str]] = None
    # Reads (GETs and waited submits) before the job reaches `finish_as`;
    # None: it never ends by itself.
    reads_left: Optional[int] = 0
    finish_as: str = "SUCCEEDED"

    @property
    def mode(self) -> str:
        return self.body.get("mode") or "final"

    @property
    def fmt(self) -> str:
        return self.body.get("outputFormat") or "png"

    @property
    def n(self) -> int:
        return int(self.body.get("numberOfImages") or 1)

    def request_view(self) -> Dict[str, Any]:
        fmt = self.fmt
        quality = self.body.get("outputQuality")
        if fmt in ("jpeg", "webp") and quality is None:
            quality = 90
        inputs = self.body.get("inputImageUrls")
        return {
            "mode": self.mode,
            "aspectRatio": self.body.get("aspectRatio") or "1:1",
            "imageSize": self.body.get("imageSize") or ("1K" if self.mode == "draft" else "2K"),
            "numberOfImages": self.n,
            "outputFormat": fmt,
            "outputQuality": quality if fmt != "png" else None,
            "deadlineSeconds": self.body.get("deadlineSeconds"),
            "inputImages": len(inputs) if inputs else (1 if self.body.get("inputImageUrl") else 0),
        }

    def result_urls(self) -> List[str]:
        if self.status != "SUCCEEDED":
            return []
        ext = {"png": "png", "jpeg": "jpg", "webp": "webp"}[self.fmt]
        return [f"http://localhost:4566/results/t_dev/{self.id}/{i}.{ext}" for i in range(self.n)]

    def images(self) -> List[Dict[str, Any]]:
        side = {"1K": 1024, "2K": 2048, "4K": 4096}[self.request_view()["imageSize"]]
        ctype = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}[self.fmt]
        return [
            {"url": u, "contentType": ctype, "width": side, "height": side, "bytes": 100_000 + i}
            for i, u in enumerate(self.result_urls())
        ]

    def usage(self) -> Optional[Dict[str, Any]]:
        if self.status not in TERMINAL:
            return None
        ok = self.status == "SUCCEEDED"
        return {
            "images": self.n if ok else 0,
            "providerCalls": self.n if self.status != "CANCELED" else 0,
            "inputTokens": None,
            "outputTokens": None,
            "costUsd": 0,
        }

    def deadline_at(self) -> Optional[str]:
        d = self.body.get("deadlineSeconds")
        return iso(self.created_at + dt.timedelta(seconds=d)) if d else None

    def view(self) -> Dict[str, Any]:
        """The job view of GET /v1/jobs/{jobId}: exactly the schema's keys."""
        return {
            "jobId": self.id,
            "status": self.status,
            "resultUrls": self.result_urls(),
            "error": self.error,
            "images": self.images(),
            "usage": self.usage(),
            "request": self.request_view(),
            "livemode": self.livemode,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at or self.created_at),
            "deadlineAt": self.deadline_at(),
        }

    def list_item(self) -> Dict[str, Any]:
        """A GET /v1/jobs item: exactly the schema's keys."""
        url = self.body.get("inputImageUrl")
        if isinstance(url, str) and url.startswith("data:"):
            url = url.split(",", 1)[0] + ",…"
        return {
            "id": self.id,
            "status": self.status,
            "prompt": self.prompt,
            "mode": self.mode,
            "inputImageUrl": url,
            "aspectRatio": self.body.get("aspectRatio") or "1:1",
            "resultUrls": self.result_urls(),
            "errorCode": self.error["code"] if self.error else None,
            "errorMessage": self.error["message"] if self.error else None,
            "images": self.images(),
            "usage": self.usage(),
            "request": self.request_view(),
            "livemode": self.livemode,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at or self.created_at),
            "deadlineAt": self.deadline_at(),
        }


class Drop(Exception):
    """A scripted fault: the connection drops (``after``: once the request was processed)."""


@dataclass
class Fault:
    method: str
    path_prefix: str
    action: Callable[["FakeImageSaaS", httpx.Request], Optional[httpx.Response]]
    after: bool = False  # run the request, then apply the action (a lost answer)


@dataclass
class Recorded:
    method: str
    path: str
    params: List[Tuple[str, str]]
    headers: httpx.Headers
    body: Optional[bytes]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FakeImageSaaS:
    """The fake. ``transport`` / ``async_transport`` go to the clients' ``transport=``."""

    def __init__(self, *, seed: int = 21) -> None:
        self.rng = random.Random(seed)
        self.keys: Dict[str, bool] = {DEV_KEY: False, LIVE_KEY: True}  # key -> livemode
        self.revoked: set = set()
        self.jobs: Dict[str, FakeJob] = {}
        self.idempotency: Dict[Tuple[bool, str], Tuple[str, str]] = {}  # (livemode, key) -> (canonical body, job id)
        self.requests: List[Recorded] = []
        self.faults: Deque[Fault] = deque()
        self.deliveries: Dict[str, List[Dict[str, Any]]] = {}
        self.webhook_target = True
        self.rpm_limit = 60
        self.rpm_used = 0
        self.quota: Optional[Tuple[int, int]] = None  # (limit, used)
        self.reads_until_done: Optional[int] = 0  # new jobs: reads before they end (None: never)
        self.finish_as = "SUCCEEDED"
        self.hold_cap = 0.2  # real seconds a wait holds an unfinished job, at most its N
        self.ignore_prefer = False  # an older deployment: Prefer: wait is not applied
        self.ignore_wait = False  # ... and ?wait=N answers at once
        self.cursor_secret = b"fake-cursor-secret"
        self._clock = dt.datetime(2026, 12, 2, 9, 0, 0, tzinfo=dt.timezone.utc)
        self._lock = threading.Lock()
        self.transport = httpx.MockTransport(self.handle)
        self.async_transport = httpx.MockTransport(self.handle)

    # -- scripting ---------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        code: Optional[str],
        message: str = "scripted failure",
        headers: Optional[Dict[str, str]] = None,
        body: Any = None,
    ) -> None:
        def action(fake: "FakeImageSaaS", request: httpx.Request) -> httpx.Response:
            payload = body if body is not None else {"error": code, "message": message}
            return fake._json(status, payload, headers or {})

        self.faults.append(Fault(method, path_prefix, action))

    def drop_next(self, method: str, path_prefix: str, *, after: bool, exc: Optional[Exception] = None) -> None:
        """Drop the connection: before the request reaches the service, or after it was processed."""

        def action(fake: "FakeImageSaaS", request: httpx.Request) -> None:
            raise exc or httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

        self.faults.append(Fault(method, path_prefix, action, after=after))

    def plant(self, count: int, *, status: str = "SUCCEEDED", livemode: bool = False, mode: str = "draft") -> List[FakeJob]:
        """``count`` jobs, created one second apart (the newest last)."""
        made = []
        for i in range(count):
            job = self._new_job(livemode, {"prompt": f"planted {i}", "mode": mode}, status=status)
            made.append(job)
        return made

    def jobs_of(self, livemode: bool = False) -> List[FakeJob]:
        return [j for j in self.jobs.values() if j.livemode == livemode]

    def submits(self) -> List[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/images/generate"]

    # -- plumbing ----------------------------------------------------------

    def _now(self) -> dt.datetime:
        self._clock += dt.timedelta(seconds=1)
        return self._clock

    def _new_job(self, livemode: bool, body: Dict[str, Any], status: str = "QUEUED") -> FakeJob:
        created = self._now()
        job = FakeJob(
            id=new_job_id(self.rng),
            livemode=livemode,
            prompt=body["prompt"],
            body=body,
            created_at=created,
            status=status,
            reads_left=self.reads_until_done,
            finish_as=self.finish_as,
        )
        if status == "FAILED":
            job.error = {"code": "CONTENT_BLOCKED", "message": "The prompt was blocked by the model's safety filters (SAFETY)"}
        self.jobs[job.id] = job
        return job

    def _json(self, status: int, payload: Any, headers: Optional[Dict[str, str]] = None) -> httpx.Response:
        h = {
            "Content-Type": "application/json",
            "X-Request-Id": "req-" + uuid.UUID(int=self.rng.getrandbits(128)).hex[:16],
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
        h.update(headers or {})
        return httpx.Response(status, content=json.dumps(payload).encode(), headers=h)

    def _error(self, status: int, code: str, message: str, headers: Optional[Dict[str, str]] = None) -> httpx.Response:
        return self._json(status, {"error": code, "message": message}, headers)

    def _limit_headers(self, livemode: bool) -> Dict[str, str]:
        reset = int(self._clock.timestamp()) // 60 * 60 + 60
        h = {
            "X-RateLimit-Limit": str(self.rpm_limit),
            "X-RateLimit-Remaining": str(max(0, self.rpm_limit - self.rpm_used)),
            "X-RateLimit-Reset": str(reset),
        }
        if self.quota is not None:
            limit, used = self.quota
            nxt = dt.datetime(self._clock.year + (self._clock.month == 12), self._clock.month % 12 + 1, 1, tzinfo=dt.timezone.utc)
            h.update(
                {
                    "X-Quota-Limit": str(limit),
                    "X-Quota-Remaining": str(max(0, limit - used)),
                    "X-Quota-Reset": str(int(nxt.timestamp())),
                }
            )
        return h

    def _cursor(self, livemode: bool, status: Optional[str], offset: int) -> str:
        msg = f"{livemode}|{status}|{offset}".encode()
        sig = hmac.new(self.cursor_secret, msg, hashlib.sha256).hexdigest()[:22]
        return f"v1.{offset}.{sig}"

    def _read_cursor(self, livemode: bool, status: Optional[str], cursor: str) -> Optional[int]:
        m = re.fullmatch(r"v1\.(\d+)\.([0-9a-f]{22})", cursor)
        if not m or not hmac.compare_digest(self._cursor(livemode, status, int(m.group(1))), cursor):
            return None
        return int(m.group(1))

    def _advance(self, job: FakeJob) -> None:
        """One read of a job: it ends when its reads run out."""
        if job.status in TERMINAL:
            return
        if job.reads_left is None:  # runs forever
            job.status = "RUNNING"
            return
        if job.reads_left <= 0:
            job.status = job.finish_as
            if job.finish_as == "FAILED":
                job.error = {"code": "GENERATION_FAILED", "message": "The model returned no image"}
            job.updated_at = self._now()
        else:
            job.reads_left -= 1
            job.status = "RUNNING"
            job.updated_at = self._now()

    def _hold(self, job: FakeJob, seconds: int) -> None:
        """A wait on an unfinished job: read it once, hold (a bounded real sleep) when still running."""
        self._advance(job)
        if job.status not in TERMINAL:
            time.sleep(min(self.hold_cap, seconds))

    # -- the handler -------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            body = request.read() if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
            self.requests.append(
                Recorded(
                    method=request.method,
                    path=request.url.raw_path.split(b"?")[0].decode("ascii"),
                    params=list(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
                    headers=request.headers,
                    body=body or None,
                )
            )
            fault = None
            for f in list(self.faults):
                if f.method == request.method and request.url.path.startswith(f.path_prefix):
                    fault = f
                    self.faults.remove(f)
                    break
            if fault is not None and not fault.after:
                response = fault.action(self, request)
                if response is not None:
                    return response
            response = self._route(request, body or b"")
            if fault is not None and fault.after:
                fault.action(self, request)
            return response

    def _auth(self, request: httpx.Request) -> Tuple[Optional[bool], Optional[httpx.Response]]:
        values = request.headers.get_list("authorization")
        if not values:
            return None, self._error(401, "INVALID_API_KEY", "Missing Authorization header; send `Authorization: Bearer <api key>`")
        if len(values) > 1:
            return None, self._error(401, "INVALID_API_KEY", "Malformed Authorization header")
        scheme, _, key = values[0].partition(" ")
        if scheme.lower() != "bearer":
            return None, self._error(401, "INVALID_API_KEY", "Authorization must use the Bearer scheme: `Authorization: Bearer <api key>`")
        key = key.strip()
        if key in self.revoked:
            return None, self._error(401, "INVALID_API_KEY", "This API key has been revoked")
        if key not in self.keys:
            return None, self._error(401, "INVALID_API_KEY", "Invalid API key")
        return self.keys[key], None

    def _route(self, request: httpx.Request, body: bytes) -> httpx.Response:
        path = request.url.raw_path.split(b"?")[0].decode("ascii")  # as sent: %2F stays in its segment
        method = request.method
        params = list(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        if method == "GET" and path == "/health":
            return self._json(200, {"status": "ok", "timestamp": iso(self._clock)})
        if not path.startswith("/v1/"):
            return self._error(404, "NOT_FOUND", f"No route for {method} {path}")
        livemode, refused = self._auth(request)
        if refused is not None:
            return refused
        assert livemode is not None
        if path == "/v1/images/generate" and method == "POST":
            return self._submit(request, body, livemode)
        if path == "/v1/jobs" and method == "GET":
            return self._list(params, livemode)
        if path == "/v1/usage" and method == "GET":
            return self._usage(params, livemode)
        m = re.fullmatch(r"/v1/jobs/([^/]+)(/deliveries)?", path)
        if m:
            job_id = unquote(m.group(1))
            job = self.jobs.get(job_id)
            if job is None or job.livemode != livemode or not _JOB_ID.match(job_id):
                return self._error(404, "JOB_NOT_FOUND", "Job not found")
            if m.group(2) and method == "GET":
                return self._json(200, {"items": self.deliveries.get(job.id, [])})
            if m.group(2) and method == "POST":
                return self._redeliver(job, body)
            if method == "GET":
                return self._get(job, params)
            if method == "DELETE":
                return self._cancel(job)
        return self._error(404, "NOT_FOUND", f"No route for {method} {path}")

    def _submit(self, request: httpx.Request, raw: bytes, livemode: bool) -> httpx.Response:
        limits = self._limit_headers(livemode)
        ctype = request.headers.get("content-type")
        if ctype is not None and ctype.split(";")[0].strip().lower() != "application/json":
            return self._error(400, "INVALID_REQUEST", f"Header `Content-Type` must be `application/json`, not `{ctype}`", limits)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, "INVALID_REQUEST", "Request body is not valid JSON (line 1, column 1)", limits)
        if not isinstance(body, dict):
            return self._error(400, "INVALID_REQUEST", "Request body must be a JSON object", limits)
        for name in body:
            if name not in ALLOWED_FIELDS:
                allowed = ", ".join(f"`{f}`" for f in ALLOWED_FIELDS)
                return self._error(400, "INVALID_REQUEST", f"Unknown field `{name}`; allowed fields are {allowed}", limits)
        prompt = body.get("prompt")
        if prompt is None:
            return self._error(400, "INVALID_REQUEST", "Field `prompt` is required", limits)
        if not isinstance(prompt, str) or not prompt.strip():
            return self._error(400, "INVALID_REQUEST", "Field `prompt` must not be empty", limits)
        body = {k: v for k, v in body.items() if v is not None}
        if "inputImageUrl" in body and "inputImageUrls" in body:
            return self._error(
                400,
                "INVALID_REQUEST",
                "Fields `inputImageUrl` and `inputImageUrls` cannot both be given; put every input in `inputImageUrls`",
                limits,
            )
        if "outputQuality" in body and body.get("outputFormat") not in ("jpeg", "webp"):
            return self._error(
                400,
                "INVALID_REQUEST",
                "Field `outputQuality` applies only to `outputFormat` `jpeg` or `webp`; png is lossless",
                limits,
            )
        key = request.headers.get("idempotency-key")
        canonical = json.dumps(body, sort_keys=True)
        replay = None
        if key is not None:
            seen = self.idempotency.get((livemode, key))
            if seen is not None:
                if seen[0] != canonical:
                    return self._error(
                        422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used with a different request body", limits
                    )
                replay = self.jobs[seen[1]]
        headers = dict(limits)
        if replay is not None:
            job = replay
            headers["Idempotent-Replayed"] = "true"
        else:
            n = int(body.get("numberOfImages") or 1)
            if self.quota is not None and self.quota[1] + n > self.quota[0]:
                limit, used = self.quota
                return self._error(
                    429,
                    "QUOTA_EXCEEDED",
                    f"Monthly image quota exceeded: this tenant may generate {limit} images a month in "
                    f"{'live' if livemode else 'test'} mode; used or reserved this month: {used}; this request asks for {n}. "
                    "The quota resets at 2027-01-01T00:00:00.000Z",
                    {**limits, "Retry-After": "2500000"},
                )
            if self.rpm_used >= self.rpm_limit:
                return self._error(
                    429,
                    "RATE_LIMIT_EXCEEDED",
                    f"Rate limit exceeded: at most {self.rpm_limit} submits per minute for this tenant",
                    {**limits, "Retry-After": "1"},
                )
            self.rpm_used += 1
            if self.quota is not None:
                self.quota = (self.quota[0], self.quota[1] + n)
            job = self._new_job(livemode, body)
            if key is not None:
                self.idempotency[(livemode, key)] = (canonical, job.id)
            headers = self._limit_headers(livemode)
        wait = None if self.ignore_prefer else _prefer_wait(request.headers.get_list("prefer"))
        if wait is None:
            return self._json(202, {"jobId": job.id, "status": job.status}, headers)
        self._hold(job, wait)
        headers["Preference-Applied"] = f"wait={wait}"
        if job.status in TERMINAL:
            return self._json(200, job.view(), headers)
        headers["Location"] = f"/v1/jobs/{job.id}"
        return self._json(202, job.view(), headers)

    def _get(self, job: FakeJob, params: List[Tuple[str, str]]) -> httpx.Response:
        names = [k for k, _ in params]
        for k in names:
            if k != "wait":
                return self._error(400, "INVALID_REQUEST", f"Unknown query parameter `{k}`; allowed: `wait`")
        if names.count("wait") > 1:
            return self._error(400, "INVALID_REQUEST", "Query parameter `wait` must be given at most once")
        if names:
            value = params[0][1]
            if not value.isdigit() or not 1 <= int(value) <= 25:
                return self._error(400, "INVALID_REQUEST", "Query parameter `wait` must be an integer from 1 to 25")
            if self.ignore_wait:
                self._advance(job)
            else:
                self._hold(job, int(value))
        else:
            self._advance(job)
        return self._json(200, job.view())

    def _cancel(self, job: FakeJob) -> httpx.Response:
        if job.status not in ("QUEUED", "RETRYING"):
            return self._error(400, "INVALID_STATE", f"Job {job.id} is {job.status}; only QUEUED or RETRYING jobs can be canceled")
        job.status = "CANCELED"
        job.updated_at = self._now()
        return self._json(200, {"jobId": job.id, "status": "CANCELED"})

    def _redeliver(self, job: FakeJob, body: bytes) -> httpx.Response:
        if body and json.loads(body) != {}:
            return self._error(400, "INVALID_REQUEST", "Request body must be empty or `{}`")
        if job.status not in TERMINAL:
            return self._error(
                400,
                "INVALID_STATE",
                f"Job {job.id} is {job.status}; only a SUCCEEDED, FAILED or CANCELED job has a webhook event to send again",
            )
        if not self.webhook_target:
            return self._error(
                400,
                "INVALID_REQUEST",
                f"Job {job.id} has no webhook target: no webhookUrl of its own and no tenant webhook URL and secret",
            )
        event_id = "evt_" + hashlib.sha256(f"{job.id}:{job.status}".encode()).hexdigest()[:24]
        return self._json(202, {"eventId": event_id, "status": "pending"})

    def _list(self, params: List[Tuple[str, str]], livemode: bool) -> httpx.Response:
        seen: Dict[str, str] = {}
        for k, v in params:
            if k not in ("status", "limit", "cursor"):
                return self._error(400, "INVALID_REQUEST", f"Unknown query parameter `{k}`; allowed: `status`, `limit`, `cursor`")
            if k in seen:
                return self._error(400, "INVALID_REQUEST", f"Query parameter `{k}` must be given at most once")
            seen[k] = v
        status = seen.get("status")
        if status is not None and status not in STATUSES:
            return self._error(400, "INVALID_REQUEST", f"Query parameter `status` must be one of {', '.join(STATUSES)}")
        limit = 50
        if "limit" in seen:
            if not seen["limit"].isdigit() or not 1 <= int(seen["limit"]) <= 100:
                return self._error(400, "INVALID_REQUEST", "Query parameter `limit` must be an integer from 1 to 100")
            limit = int(seen["limit"])
        offset = 0
        if seen.get("cursor"):
            got = self._read_cursor(livemode, status, seen["cursor"])
            if got is None:
                return self._error(400, "INVALID_REQUEST", "Query parameter `cursor` is not a cursor issued for this listing")
            offset = got
        rows = sorted(
            (j for j in self.jobs.values() if j.livemode == livemode and (status is None or j.status == status)),
            key=lambda j: (j.created_at, j.id),
            reverse=True,
        )
        page = rows[offset : offset + limit + 1]
        more = len(page) > limit
        page = page[:limit]
        return self._json(
            200,
            {
                "items": [j.list_item() for j in page],
                "hasMore": more,
                "nextCursor": self._cursor(livemode, status, offset + limit) if more else None,
            },
        )

    def _usage(self, params: List[Tuple[str, str]], livemode: bool) -> httpx.Response:
        seen: Dict[str, str] = {}
        for k, v in params:
            if k not in ("from", "to") or k in seen:
                return self._error(400, "INVALID_REQUEST", f"Unknown query parameter `{k}`; allowed: `from`, `to`")
            seen[k] = v
        try:
            to = dt.date.fromisoformat(seen["to"]) if "to" in seen else self._clock.date()
        except ValueError:
            return self._error(400, "INVALID_REQUEST", "Query parameter `to` must be a date written YYYY-MM-DD (UTC)")
        try:
            frm = dt.date.fromisoformat(seen["from"]) if "from" in seen else to.replace(day=1)
        except ValueError:
            return self._error(400, "INVALID_REQUEST", "Query parameter `from` must be a date written YYYY-MM-DD (UTC)")
        if frm > to:
            return self._error(400, "INVALID_REQUEST", "Query parameter `from` must not be after `to`")
        if (to - frm).days + 1 > 92:
            return self._error(400, "INVALID_REQUEST", "Query parameters `from` and `to` may span at most 92 days")
        days = []
        total = {"jobs": 0, "images": 0, "costUsd": 0}
        d = frm
        while d <= to:
            day: Dict[str, Any] = {"date": d.isoformat()}
            for mode in ("draft", "final"):
                done = [
                    j
                    for j in self.jobs.values()
                    if j.livemode == livemode and j.status == "SUCCEEDED" and j.mode == mode and j.created_at.date() == d
                ]
                t = {"jobs": len(done), "images": sum(j.n for j in done), "costUsd": 0}
                day[mode] = t
                total["jobs"] += t["jobs"]
                total["images"] += t["images"]
            days.append(day)
            d += dt.timedelta(days=1)
        return self._json(200, {"livemode": livemode, "from": frm.isoformat(), "to": to.isoformat(), "days": days, "total": total})


def _prefer_wait(values: List[str]) -> Optional[int]:
    """The contract's reading of Prefer: every header, every preference; wait twice or malformed: ignored."""
    waits = []
    for value in values:
        for pref in value.split(","):
            name, _, arg = pref.strip().partition("=")
            if name.strip().lower() == "wait":
                waits.append(arg.strip())
    if len(waits) != 1:
        return None
    arg = waits[0]
    if arg == "":
        return 25
    if not arg.isdigit() or int(arg) < 1:
        return None
    return min(25, int(arg))
