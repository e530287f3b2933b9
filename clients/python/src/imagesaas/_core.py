"""The one implementation of every call, shared by the sync and async clients.

Nothing here does I/O. Each operation is a generator (a "flow") that yields
what it needs done — an ``HttpRequest`` to send or a ``Sleep`` — and is sent
back the ``Outcome`` of a request; its return value is the call's result. The
sync client drives a flow with ``httpx.Client`` and ``time.sleep``, the async
one with ``httpx.AsyncClient`` and ``asyncio.sleep`` (see ``_client.py``): the
request building, the retries, the idempotency key, the waiting loop, the
paging and the parsing exist once.

The public operations (``generate``, ``get_job``, ...) are also where the
methods are declared: ``_client.py`` binds each one into both clients, with
its parameters, overloads and docstring, so the surface is written once too.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    Union,
    overload,
)
from urllib.parse import quote

import httpx

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ApiError,
    ImageSaaSError,
    QuotaExceededError,
    RateLimitError,
    WaitTimeoutError,
)
from ._models import (
    CancelResult,
    Delivery,
    Job,
    JobListItem,
    JobPage,
    Redelivery,
    ResponseMeta,
    Submission,
    UsageReport,
)
from ._version import __version__

DEFAULT_BASE_URL = "http://localhost:3001"
MAX_WAIT = 25  # the contract's longest Prefer: wait / ?wait=N
WAIT_MARGIN = 10.0  # seconds of HTTP timeout beyond a request's wait

_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass
class Config:
    api_key: str
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0  # each HTTP request (a waiting one gets its wait more)
    max_retries: int = 3  # retries after the first attempt
    max_retry_wait: float = 60.0  # the longest Retry-After honoured; longer is raised
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    wait_timeout: float = 300.0  # wait=True / jobs.wait() when no timeout= is given
    poll_interval: float = 1.0  # the shortest gap between two polls of a job
    headers: Dict[str, str] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def base_headers(self) -> Dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"imagesaas-python/{__version__} httpx/{httpx.__version__}",
        }
        h.update(self.headers)
        return h


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Dict[str, str]
    params: List[Tuple[str, str]] = field(default_factory=list)
    content: Optional[bytes] = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Outcome:
    """A response (``status``, ``headers``, ``content``), or the transport ``error`` instead."""

    status: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    error: Optional[BaseException] = None


T = TypeVar("T")
Step = Union[HttpRequest, Sleep]
# A flow yields steps, is sent each request's Outcome, and returns a T.
Flow = Generator[Step, Optional[Outcome], T]
# A listing (``list_jobs``): one flow a page, each returning that page's items.
Pages = Iterator[Flow[List[T]]]


def _monotonic() -> float:
    return float(time.monotonic())


# --- retries -----------------------------------------------------------------


def _backoff(cfg: Config, attempt: int) -> float:
    """Exponential backoff with jitter: 0.5-1 x base x 2^attempt, capped."""
    ceiling = min(cfg.backoff_max, cfg.max_retry_wait, cfg.backoff_base * (2.0**attempt))
    return ceiling * (0.5 + 0.5 * cfg.rng.random())


def _retryable_transport_error(error: BaseException) -> bool:
    return isinstance(error, (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError))


def _decide(cfg: Config, attempt: int, outcome: Outcome) -> Tuple[Optional[float], BaseException]:
    """(seconds to wait before the next attempt, or None for no retry; the error to raise otherwise)."""
    if outcome.error is not None:
        e = outcome.error
        cls = APITimeoutError if isinstance(e, httpx.TimeoutException) else APIConnectionError
        err = cls(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        err.__cause__ = e
        return (_backoff(cfg, attempt) if _retryable_transport_error(e) else None), err
    api_err = ApiError.from_response(outcome.status, outcome.headers, outcome.content)
    if isinstance(api_err, QuotaExceededError):
        return None, api_err  # Retry-After is up to a month: surface it
    if isinstance(api_err, RateLimitError):
        ra = api_err.retry_after
        if ra is None:
            return _backoff(cfg, attempt), api_err
        if ra > cfg.max_retry_wait:
            return None, api_err
        # A little jitter after the server's time, so clients that were
        # refused together do not all come back in the same instant.
        return ra + min(1.0, 0.1 * ra) * cfg.rng.random(), api_err
    if outcome.status in _RETRYABLE_STATUSES:
        ra = api_err.retry_after
        if ra is not None and ra <= cfg.max_retry_wait:
            return ra, api_err
        return _backoff(cfg, attempt), api_err
    return None, api_err


def send(
    cfg: Config,
    make_request: Callable[[int], HttpRequest],
    *,
    deadline: Optional[float] = None,
) -> Generator[Step, Optional[Outcome], Outcome]:
    """Send a request, retrying 429 (not QUOTA_EXCEEDED), 5xx and connection errors.

    ``make_request(attempt)`` builds each attempt (the same idempotency key
    every time; a waiting submit recomputes its ``Prefer: wait``). No retry
    sleeps past ``deadline`` (a ``time.monotonic()`` value).
    """
    attempt = 0
    while True:
        outcome = yield make_request(attempt)
        assert outcome is not None
        if outcome.error is None and outcome.status < 400:
            return outcome
        delay, err = _decide(cfg, attempt, outcome)
        if (
            delay is None
            or attempt >= cfg.max_retries
            or (deadline is not None and _monotonic() + delay > deadline)
        ):
            raise err
        attempt += 1
        yield Sleep(delay)


def _request(
    cfg: Config,
    method: str,
    path: str,
    *,
    params: Sequence[Tuple[str, str]] = (),
    body: Optional[Mapping[str, Any]] = None,
    timeout: Optional[float] = None,
) -> Callable[[int], HttpRequest]:
    headers = cfg.base_headers()
    content = None
    if body is not None:
        content = encode_json(body)
        headers["Content-Type"] = "application/json"
    req = HttpRequest(
        method=method,
        url=cfg.url(path),
        headers=headers,
        params=list(params),
        content=content,
        timeout=timeout if timeout is not None else cfg.timeout,
    )
    return lambda attempt: req


def encode_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse(outcome: Outcome) -> Tuple[Any, ResponseMeta]:
    meta = ResponseMeta.from_response(outcome.status, outcome.headers)
    try:
        data = json.loads(outcome.content) if outcome.content else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(
            f"the API answered {outcome.status} with a body that is not a JSON object",
            status=outcome.status,
            request_id=meta.request_id,
            meta=meta,
            body=outcome.content[:500],
        )
    return data, meta


def _build(outcome: Outcome, meta: ResponseMeta, make: Callable[[], T]) -> T:
    """A model from a 2xx body; a body without the contract's fields is an ``ApiError``, not a ``KeyError``."""
    try:
        return make()
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ApiError(
            f"the API answered {outcome.status} with a body the contract does not describe ({type(e).__name__}: {e})",
            status=outcome.status,
            request_id=meta.request_id,
            meta=meta,
            body=outcome.content[:500],
        ) from e


def _job_path(job_id: str, suffix: str = "") -> str:
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("job_id must be a non-empty string")
    return "/v1/jobs/" + quote(job_id, safe="") + suffix


# --- the public operations ---------------------------------------------------
#
# Each function from here on without a leading underscore is one method of
# both clients, bound by ``_client.py``
# (``ImageSaaS.generate = _sync(generate)``, ``AsyncImageSaaS.generate =
# _async(generate)``, ...): its signature after ``cfg``, its overloads and its
# docstring are the method's, for mypy, ``help()`` and IDEs alike. So a new
# option or operation is written here once and both clients have it.


@overload
def generate(
    cfg: Config,
    prompt: str,
    *,
    mode: Optional[str] = None,
    aspect_ratio: Optional[str] = None,
    input_image_url: Optional[str] = None,
    input_image_urls: Optional[Sequence[str]] = None,
    image_size: Optional[str] = None,
    number_of_images: Optional[int] = None,
    output_format: Optional[str] = None,
    output_quality: Optional[int] = None,
    deadline_seconds: Optional[int] = None,
    webhook_url: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    wait: Literal[True],
    timeout: Optional[float] = None,
) -> Flow[Job]: ...


@overload
def generate(
    cfg: Config,
    prompt: str,
    *,
    mode: Optional[str] = None,
    aspect_ratio: Optional[str] = None,
    input_image_url: Optional[str] = None,
    input_image_urls: Optional[Sequence[str]] = None,
    image_size: Optional[str] = None,
    number_of_images: Optional[int] = None,
    output_format: Optional[str] = None,
    output_quality: Optional[int] = None,
    deadline_seconds: Optional[int] = None,
    webhook_url: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    wait: Literal[False] = False,
    timeout: Optional[float] = None,
) -> Flow[Submission]: ...


@overload
def generate(
    cfg: Config,
    prompt: str,
    *,
    mode: Optional[str] = None,
    aspect_ratio: Optional[str] = None,
    input_image_url: Optional[str] = None,
    input_image_urls: Optional[Sequence[str]] = None,
    image_size: Optional[str] = None,
    number_of_images: Optional[int] = None,
    output_format: Optional[str] = None,
    output_quality: Optional[int] = None,
    deadline_seconds: Optional[int] = None,
    webhook_url: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    wait: bool = False,
    timeout: Optional[float] = None,
) -> Flow[Union[Job, Submission]]: ...


def generate(
    cfg: Config,
    prompt: str,
    *,
    mode: Optional[str] = None,
    aspect_ratio: Optional[str] = None,
    input_image_url: Optional[str] = None,
    input_image_urls: Optional[Sequence[str]] = None,
    image_size: Optional[str] = None,
    number_of_images: Optional[int] = None,
    output_format: Optional[str] = None,
    output_quality: Optional[int] = None,
    deadline_seconds: Optional[int] = None,
    webhook_url: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    wait: bool = False,
    timeout: Optional[float] = None,
) -> Flow[Union[Job, Submission]]:
    """Submit a job: ``POST /v1/images/generate``.

    Only the options given are sent (the API applies its defaults).
    ``idempotency_key`` defaults to a new UUID4, sent on every retry.
    Without ``wait``: the ``Submission`` (``job_id``, ``status``).
    With ``wait=True``: ``Prefer: wait``, then long polls until the job
    is terminal, and the final ``Job``; ``WaitTimeoutError`` (with the
    last view in ``.job``) after ``timeout`` seconds (default
    ``wait_timeout``).
    """
    if not isinstance(prompt, str):
        raise TypeError("prompt must be a string")
    if isinstance(input_image_urls, (str, bytes)):
        raise TypeError("input_image_urls must be a list of URLs (use input_image_url for one)")
    # None is "not given", as null is to the API: only the fields given are sent.
    body: Dict[str, Any] = {"prompt": prompt}
    fields = (
        ("mode", mode),
        ("inputImageUrl", input_image_url),
        ("inputImageUrls", list(input_image_urls) if input_image_urls is not None else None),
        ("aspectRatio", aspect_ratio),
        ("imageSize", image_size),
        ("numberOfImages", number_of_images),
        ("outputFormat", output_format),
        ("outputQuality", output_quality),
        ("deadlineSeconds", deadline_seconds),
        ("webhookUrl", webhook_url),
    )
    for name, value in fields:
        if value is not None:
            body[name] = value
    return (yield from _submit(cfg, body, idempotency_key=idempotency_key, wait=wait, timeout=timeout))


def _is_job_view(data: Mapping[str, Any]) -> bool:
    """A waited submit answers the whole job view; a plain one only ``{jobId, status}``."""
    return "createdAt" in data and "resultUrls" in data


def _resolve_timeout(cfg: Config, timeout: Optional[float]) -> float:
    t = cfg.wait_timeout if timeout is None else float(timeout)
    if not t > 0:
        raise ValueError("timeout must be a positive number of seconds")
    return t


def _wait_seconds(deadline: float) -> Optional[int]:
    """The N of ``wait=N`` that ends by ``deadline``; ``None`` when under a second is left."""
    remaining = deadline - _monotonic()
    if remaining >= MAX_WAIT:
        return MAX_WAIT
    if remaining >= 1:
        return int(remaining)
    return None


def _submit(
    cfg: Config,
    body: Mapping[str, Any],
    *,
    idempotency_key: Optional[str],
    wait: bool,
    timeout: Optional[float],
) -> Flow[Union[Job, Submission]]:
    """``POST /v1/images/generate``; with ``wait``, ``Prefer: wait=N`` and then ``_wait_for``.

    Every attempt carries the same ``Idempotency-Key``, so a retried submit
    (after a dropped connection, a 5xx or a 429) never makes a second job.
    """
    key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
    content = encode_json(body)
    deadline = _monotonic() + _resolve_timeout(cfg, timeout) if wait else None
    url = cfg.url("/v1/images/generate")

    def make(attempt: int) -> HttpRequest:
        headers = cfg.base_headers()
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = key
        req_timeout = cfg.timeout
        if deadline is not None:
            n = _wait_seconds(deadline)
            if n is not None:
                headers["Prefer"] = f"wait={n}"
                req_timeout = max(cfg.timeout, n + WAIT_MARGIN)
        return HttpRequest("POST", url, headers=headers, content=content, timeout=req_timeout)

    # The submit itself is never cut short by the wait's deadline: it must
    # land (or fail) so that the caller learns the job id.
    outcome = yield from send(cfg, make)
    data, meta = _parse(outcome)
    submission = _build(
        outcome, meta, lambda: Submission(job_id=data["jobId"], status=data["status"], idempotency_key=key, meta=meta)
    )
    if deadline is None:
        return submission
    job: Optional[Job] = _build(outcome, meta, lambda: Job.from_dict(data, meta)) if _is_job_view(data) else None
    if job is None or not job.is_terminal:
        job = yield from _wait_for(cfg, submission.job_id, deadline)
    return dataclasses.replace(job, submission=submission)


def get_job(cfg: Config, job_id: str, *, wait: Optional[int] = None) -> Flow[Job]:
    """``GET /v1/jobs/{jobId}``; ``wait`` (1 to 25) makes it one long poll."""
    return (yield from _read_job(cfg, job_id, wait=wait))


def _read_job(cfg: Config, job_id: str, *, wait: Optional[int], deadline: Optional[float] = None) -> Flow[Job]:
    """``GET /v1/jobs/{jobId}``, or a long poll of up to ``wait`` seconds; no retry sleeps past ``deadline``."""
    params: List[Tuple[str, str]] = []
    timeout = cfg.timeout
    if wait is not None:
        params.append(("wait", str(int(wait))))
        timeout = max(cfg.timeout, int(wait) + WAIT_MARGIN)
    outcome = yield from send(cfg, _request(cfg, "GET", _job_path(job_id), params=params, timeout=timeout), deadline=deadline)
    data, meta = _parse(outcome)
    return _build(outcome, meta, lambda: Job.from_dict(data, meta))


def _wait_for(cfg: Config, job_id: str, deadline: float) -> Flow[Job]:
    """Long-poll the job until it is terminal; ``WaitTimeoutError`` at ``deadline``.

    Each poll is ``?wait=N`` with N the whole seconds left (at most 25);
    with under a second left, one last plain read at the deadline, not
    before it (a 2 s wait whose ``wait=1`` poll ends with 0.9 s left must
    not give up then). Polls are at least ``poll_interval`` apart, so a
    deployment that answers a long poll at once (or ignores ``wait``) is not
    hammered.
    """
    while True:
        n = _wait_seconds(deadline)
        if n is None:
            left = deadline - _monotonic()
            if left > 0:
                yield Sleep(left)
        started = _monotonic()
        job = yield from _read_job(cfg, job_id, wait=n, deadline=deadline)
        if job.is_terminal:
            return job
        remaining = deadline - _monotonic()
        if n is None or remaining <= 0:
            raise WaitTimeoutError(
                f"job {job_id} is still {job.status} after the wait's timeout; it goes on running",
                job=job,
            )
        pause = cfg.poll_interval - (_monotonic() - started)
        if pause > 0:
            yield Sleep(min(pause, remaining))


def wait_job(cfg: Config, job_id: str, *, timeout: Optional[float] = None) -> Flow[Job]:
    """Long-poll until the job is terminal; ``WaitTimeoutError`` after ``timeout`` seconds."""
    deadline = _monotonic() + _resolve_timeout(cfg, timeout)
    return (yield from _wait_for(cfg, job_id, deadline))


def cancel_job(cfg: Config, job_id: str) -> Flow[CancelResult]:
    """``DELETE /v1/jobs/{jobId}``: only ``QUEUED`` and ``RETRYING`` jobs (else ``InvalidStateError``)."""
    outcome = yield from send(cfg, _request(cfg, "DELETE", _job_path(job_id)))
    data, meta = _parse(outcome)
    return _build(outcome, meta, lambda: CancelResult.from_dict(data, meta))


def list_page(
    cfg: Config,
    status: Optional[str] = None,
    *,
    limit: Optional[int] = None,
    cursor: Optional[str] = None,
) -> Flow[JobPage]:
    """One page of ``GET /v1/jobs``."""
    params: List[Tuple[str, str]] = []
    if status is not None:
        params.append(("status", status))
    if limit is not None:
        params.append(("limit", str(int(limit))))
    if cursor is not None:
        params.append(("cursor", cursor))
    outcome = yield from send(cfg, _request(cfg, "GET", "/v1/jobs", params=params))
    data, meta = _parse(outcome)
    return _build(outcome, meta, lambda: JobPage.from_dict(data, meta))


class _Pager:
    """The cursor-following state of ``list_jobs``; each ``next_items()`` is a flow reading one page."""

    def __init__(self, cfg: Config, *, status: Optional[str], page_size: Optional[int]) -> None:
        self._cfg = cfg
        self._status = status
        self._page_size = page_size
        self._cursor: Optional[str] = None
        self._seen: Set[str] = set()
        self.done = False

    def next_items(self) -> Flow[List[JobListItem]]:
        page = yield from list_page(self._cfg, self._status, limit=self._page_size, cursor=self._cursor)
        nxt = page.next_cursor if page.has_more else None
        if nxt is not None and nxt in self._seen:
            raise ImageSaaSError(f"the API returned the cursor {nxt!r} twice; stopping the listing")
        if nxt is not None:
            self._seen.add(nxt)
        self._cursor = nxt
        self.done = nxt is None
        return page.items


def list_jobs(cfg: Config, status: Optional[str] = None, *, page_size: Optional[int] = None) -> Pages[JobListItem]:
    """Every job, newest first, following ``nextCursor`` page by page (``page_size`` is ``limit``)."""
    pager = _Pager(cfg, status=status, page_size=page_size)
    while not pager.done:
        # The driver runs this flow, and so moves the pager on, before it
        # asks for the next one: a page is read only when it is reached.
        yield pager.next_items()


def deliveries(cfg: Config, job_id: str) -> Flow[List[Delivery]]:
    """``GET /v1/jobs/{jobId}/deliveries``: the webhook attempts, newest first."""
    outcome = yield from send(cfg, _request(cfg, "GET", _job_path(job_id, "/deliveries")))
    data, meta = _parse(outcome)
    return _build(outcome, meta, lambda: [Delivery.from_dict(d) for d in data["items"]])


def redeliver(cfg: Config, job_id: str) -> Flow[Redelivery]:
    """``POST /v1/jobs/{jobId}/deliveries``: send the terminal event again (same ``eventId``)."""
    # No body: the contract takes none (or `{}`).
    outcome = yield from send(cfg, _request(cfg, "POST", _job_path(job_id, "/deliveries")))
    data, meta = _parse(outcome)
    return _build(outcome, meta, lambda: Redelivery.from_dict(data, meta))


def _day(value: Union[str, _dt.date, None], name: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        raise TypeError(f"{name} is a UTC day: pass a date or 'YYYY-MM-DD', not a datetime")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a date or a 'YYYY-MM-DD' string")


def usage(
    cfg: Config,
    from_: Union[str, _dt.date, None] = None,
    to: Union[str, _dt.date, None] = None,
) -> Flow[UsageReport]:
    """``GET /v1/usage``: days (``date`` or ``YYYY-MM-DD``), both included; default the month so far."""
    params: List[Tuple[str, str]] = []
    f = _day(from_, "from_")
    t = _day(to, "to")
    if f is not None:
        params.append(("from", f))
    if t is not None:
        params.append(("to", t))
    outcome = yield from send(cfg, _request(cfg, "GET", "/v1/usage", params=params))
    data, meta = _parse(outcome)
    return _build(outcome, meta, lambda: UsageReport.from_dict(data, meta))


def health(cfg: Config) -> Flow[Dict[str, Any]]:
    """``GET /health`` (no authentication)."""
    headers = {k: v for k, v in cfg.base_headers().items() if k != "Authorization"}
    req = HttpRequest("GET", cfg.url("/health"), headers=headers, timeout=cfg.timeout)
    outcome = yield from send(cfg, lambda attempt: req)
    data, _meta = _parse(outcome)
    return dict(data)
