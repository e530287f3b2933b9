"""Typed views of the contract's JSON (docs/API.md, docs/openapi.yaml).

Plain frozen dataclasses: every JSON field has a snake_case attribute, times
are timezone-aware ``datetime`` objects (UTC), days are ``date`` objects.
Each model keeps the JSON it was read from in ``raw``, so a field a newer
deployment adds is never lost. Parsing is lenient about fields a 1.0
deployment does not send (``images``, ``usage``, ``request``, ``livemode``,
``deadlineAt``), strict about the 1.0 ones.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

# The values the contract defines. Attributes are typed ``str`` so that a
# value a newer deployment adds does not break parsing.
JOB_STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "RETRYING", "CANCELED")
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
JOB_ERROR_CODES = (
    "CONTENT_BLOCKED",
    "INPUT_IMAGE_INVALID",
    "GENERATION_FAILED",
    "PROVIDER_UNAVAILABLE",
    "TIMEOUT",
)
MODES = ("draft", "final")
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")
OUTPUT_FORMATS = ("png", "jpeg", "webp")


def parse_time(value: Optional[str]) -> Optional[_dt.datetime]:
    """``2026-01-26T09:36:16.288Z`` as an aware UTC datetime; ``None`` stays ``None``."""
    if value is None:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        # Python < 3.11 accepts only 3 or 6 fraction digits.
        return _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def parse_date(value: str) -> _dt.date:
    return _dt.date.fromisoformat(value)


def _int_or_none(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimit:
    """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` of a submit answer."""

    limit: int
    remaining: int
    reset: int  # epoch seconds: the end of the current clock minute

    @property
    def reset_at(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.reset, tz=_dt.timezone.utc)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Optional["RateLimit"]:
        values = [_int_or_none(headers.get("x-ratelimit-" + n)) for n in ("limit", "remaining", "reset")]
        if any(v is None for v in values):
            return None
        return cls(*values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Quota:
    """``X-Quota-Limit``, ``-Remaining`` and ``-Reset``: only for a tenant with a monthly quota."""

    limit: int
    remaining: int
    # Epoch seconds: the first instant of the next UTC month. docs/API.md
    # sends it; the 1.1 spec names only Limit and Remaining, so it may be None.
    reset: Optional[int] = None

    @property
    def reset_at(self) -> Optional[_dt.datetime]:
        if self.reset is None:
            return None
        return _dt.datetime.fromtimestamp(self.reset, tz=_dt.timezone.utc)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Optional["Quota"]:
        limit = _int_or_none(headers.get("x-quota-limit"))
        remaining = _int_or_none(headers.get("x-quota-remaining"))
        if limit is None or remaining is None:
            return None
        return cls(limit, remaining, _int_or_none(headers.get("x-quota-reset")))


@dataclass(frozen=True)
class ResponseMeta:
    """What the HTTP answer said besides its body."""

    status_code: int
    request_id: Optional[str]
    headers: Dict[str, str]  # lower-case names
    rate_limit: Optional[RateLimit] = None
    quota: Optional[Quota] = None
    replayed: bool = False  # Idempotent-Replayed: true
    preference_applied: Optional[str] = None  # e.g. "wait=25"
    location: Optional[str] = None

    @classmethod
    def from_response(cls, status_code: int, headers: Mapping[str, str]) -> "ResponseMeta":
        h = {k.lower(): v for k, v in headers.items()}
        return cls(
            status_code=status_code,
            request_id=h.get("x-request-id"),
            headers=h,
            rate_limit=RateLimit.from_headers(h),
            quota=Quota.from_headers(h),
            replayed=h.get("idempotent-replayed", "").strip().lower() == "true",
            preference_applied=h.get("preference-applied"),
            location=h.get("location"),
        )


def _meta() -> Any:
    # A fresh Field each time: dataclasses name the Field object they are given.
    return field(default=None, repr=False, compare=False)


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class JobError:
    """``error`` of a ``FAILED`` job: ``code`` is one of ``JOB_ERROR_CODES``."""

    code: str
    message: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "JobError":
        return cls(code=d["code"], message=d["message"])


@dataclass(frozen=True)
class ResultImage:
    url: str
    content_type: str
    width: int
    height: int
    bytes: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ResultImage":
        return cls(
            url=d["url"],
            content_type=d["contentType"],
            width=d["width"],
            height=d["height"],
            bytes=d["bytes"],
        )


@dataclass(frozen=True)
class Usage:
    """What a terminal job used and cost; ``None`` on a job until it is terminal."""

    images: int
    provider_calls: int
    input_tokens: Optional[int]
    output_tokens: Optional[int]
    cost_usd: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Usage":
        return cls(
            images=d["images"],
            provider_calls=d["providerCalls"],
            input_tokens=d.get("inputTokens"),
            output_tokens=d.get("outputTokens"),
            cost_usd=d["costUsd"],
        )


@dataclass(frozen=True)
class JobRequest:
    """The job's options as accepted, defaults applied (``request`` of a job view)."""

    mode: str
    aspect_ratio: str
    image_size: str
    number_of_images: int
    output_format: str
    output_quality: Optional[int]
    deadline_seconds: Optional[int]
    input_images: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "JobRequest":
        return cls(
            mode=d["mode"],
            aspect_ratio=d["aspectRatio"],
            image_size=d["imageSize"],
            number_of_images=d["numberOfImages"],
            output_format=d["outputFormat"],
            output_quality=d.get("outputQuality"),
            deadline_seconds=d.get("deadlineSeconds"),
            input_images=d["inputImages"],
        )


def _images(d: Mapping[str, Any]) -> List[ResultImage]:
    return [ResultImage.from_dict(i) for i in d.get("images") or []]


def _usage(d: Mapping[str, Any]) -> Optional[Usage]:
    u = d.get("usage")
    return Usage.from_dict(u) if u is not None else None


def _request(d: Mapping[str, Any]) -> Optional[JobRequest]:
    r = d.get("request")
    return JobRequest.from_dict(r) if r is not None else None


@dataclass(frozen=True)
class Submission:
    """The answer to a submit that did not wait: ``202 {"jobId", "status"}``.

    ``status`` is ``QUEUED`` for a new job; a replay (``replayed``) reports the
    original job's current status. ``idempotency_key`` is the key that was
    sent (the caller's, or the UUID4 the client generated).
    """

    job_id: str
    status: str
    idempotency_key: str
    meta: Optional[ResponseMeta] = _meta()

    @property
    def replayed(self) -> bool:
        return bool(self.meta and self.meta.replayed)

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        return self.meta.rate_limit if self.meta else None

    @property
    def quota(self) -> Optional[Quota]:
        return self.meta.quota if self.meta else None

    @property
    def request_id(self) -> Optional[str]:
        return self.meta.request_id if self.meta else None


@dataclass(frozen=True)
class Job:
    """The job view of ``GET /v1/jobs/{jobId}`` (also a waited submit's body)."""

    job_id: str
    status: str
    result_urls: List[str]
    error: Optional[JobError]
    images: List[ResultImage]
    usage: Optional[Usage]
    request: Optional[JobRequest]
    livemode: Optional[bool]
    created_at: Optional[_dt.datetime]
    updated_at: Optional[_dt.datetime]
    deadline_at: Optional[_dt.datetime]
    raw: Dict[str, Any] = _raw()
    meta: Optional[ResponseMeta] = _meta()
    # Set on the job ``generate`` returns: the submit's answer (its
    # rate-limit and quota headers, whether it was a replay, the key sent).
    submission: Optional[Submission] = _meta()

    @property
    def id(self) -> str:
        return self.job_id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: Optional[ResponseMeta] = None) -> "Job":
        err = d.get("error")
        return cls(
            job_id=d["jobId"],
            status=d["status"],
            result_urls=list(d.get("resultUrls") or []),
            error=JobError.from_dict(err) if err is not None else None,
            images=_images(d),
            usage=_usage(d),
            request=_request(d),
            livemode=d.get("livemode"),
            created_at=parse_time(d.get("createdAt")),
            updated_at=parse_time(d.get("updatedAt")),
            deadline_at=parse_time(d.get("deadlineAt")),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True)
class JobListItem:
    """One entry of ``GET /v1/jobs``' ``items``."""

    id: str
    status: str
    prompt: str
    mode: str
    input_image_url: Optional[str]
    aspect_ratio: str
    result_urls: List[str]
    error_code: Optional[str]
    error_message: Optional[str]
    images: List[ResultImage]
    usage: Optional[Usage]
    request: Optional[JobRequest]
    livemode: Optional[bool]
    created_at: _dt.datetime
    updated_at: _dt.datetime
    deadline_at: Optional[_dt.datetime]
    raw: Dict[str, Any] = _raw()

    @property
    def job_id(self) -> str:
        return self.id

    @property
    def error(self) -> Optional[JobError]:
        """``errorCode`` and ``errorMessage`` as the job view's ``error``."""
        if self.error_code is None:
            return None
        return JobError(code=self.error_code, message=self.error_message or "")

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "JobListItem":
        return cls(
            id=d["id"],
            status=d["status"],
            prompt=d["prompt"],
            mode=d["mode"],
            input_image_url=d.get("inputImageUrl"),
            aspect_ratio=d["aspectRatio"],
            result_urls=list(d.get("resultUrls") or []),
            error_code=d.get("errorCode"),
            error_message=d.get("errorMessage"),
            images=_images(d),
            usage=_usage(d),
            request=_request(d),
            livemode=d.get("livemode"),
            created_at=parse_time(d["createdAt"]),  # type: ignore[arg-type]
            updated_at=parse_time(d["updatedAt"]),  # type: ignore[arg-type]
            deadline_at=parse_time(d.get("deadlineAt")),
            raw=dict(d),
        )


@dataclass(frozen=True)
class JobPage:
    """One page of ``GET /v1/jobs``."""

    items: List[JobListItem]
    has_more: bool
    next_cursor: Optional[str]
    meta: Optional[ResponseMeta] = _meta()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: Optional[ResponseMeta] = None) -> "JobPage":
        return cls(
            items=[JobListItem.from_dict(i) for i in d["items"]],
            has_more=d["hasMore"],
            next_cursor=d.get("nextCursor"),
            meta=meta,
        )


@dataclass(frozen=True)
class CancelResult:
    """``200 {"jobId", "status": "CANCELED"}`` of ``DELETE /v1/jobs/{jobId}``."""

    job_id: str
    status: str
    meta: Optional[ResponseMeta] = _meta()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: Optional[ResponseMeta] = None) -> "CancelResult":
        return cls(job_id=d["jobId"], status=d["status"], meta=meta)


@dataclass(frozen=True)
class Delivery:
    """One completed webhook attempt of ``GET /v1/jobs/{jobId}/deliveries``."""

    event_id: str
    attempt: int
    url: str
    at: _dt.datetime
    status: str  # "delivered" or "failed"
    http_status: Optional[int]
    error: Optional[str]
    duration_ms: int
    next_attempt_at: Optional[_dt.datetime]
    raw: Dict[str, Any] = _raw()

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Delivery":
        return cls(
            event_id=d["eventId"],
            attempt=d["attempt"],
            url=d["url"],
            at=parse_time(d["at"]),  # type: ignore[arg-type]
            status=d["status"],
            http_status=d.get("httpStatus"),
            error=d.get("error"),
            duration_ms=d["durationMs"],
            next_attempt_at=parse_time(d.get("nextAttemptAt")),
            raw=dict(d),
        )


@dataclass(frozen=True)
class Redelivery:
    """``202 {"eventId", "status": "pending"}`` of ``POST /v1/jobs/{jobId}/deliveries``."""

    event_id: str
    status: str
    meta: Optional[ResponseMeta] = _meta()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: Optional[ResponseMeta] = None) -> "Redelivery":
        return cls(event_id=d["eventId"], status=d["status"], meta=meta)


@dataclass(frozen=True)
class UsageTotals:
    jobs: int
    images: int
    cost_usd: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "UsageTotals":
        return cls(jobs=d["jobs"], images=d["images"], cost_usd=d["costUsd"])


@dataclass(frozen=True)
class UsageDay:
    date: _dt.date
    draft: UsageTotals
    final: UsageTotals

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "UsageDay":
        return cls(
            date=parse_date(d["date"]),
            draft=UsageTotals.from_dict(d["draft"]),
            final=UsageTotals.from_dict(d["final"]),
        )


@dataclass(frozen=True)
class UsageReport:
    """``GET /v1/usage``: ``from_`` is the JSON ``from`` (a Python keyword)."""

    livemode: bool
    from_: _dt.date
    to: _dt.date
    days: List[UsageDay]
    total: UsageTotals
    raw: Dict[str, Any] = _raw()
    meta: Optional[ResponseMeta] = _meta()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: Optional[ResponseMeta] = None) -> "UsageReport":
        return cls(
            livemode=d["livemode"],
            from_=parse_date(d["from"]),
            to=parse_date(d["to"]),
            days=[UsageDay.from_dict(x) for x in d["days"]],
            total=UsageTotals.from_dict(d["total"]),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True)
class WebhookEvent:
    """The body of a webhook request (what ``webhooks.verify`` returns)."""

    event_id: str
    job_id: str
    tenant_id: str
    status: str
    result_urls: List[str]
    error: Optional[JobError]
    livemode: Optional[bool]
    images: List[ResultImage]
    usage: Optional[Usage]
    request: Optional[JobRequest]
    timestamp: int  # epoch milliseconds
    raw: Dict[str, Any] = _raw()

    @property
    def occurred_at(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.timestamp / 1000, tz=_dt.timezone.utc)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "WebhookEvent":
        err = d.get("error")
        return cls(
            event_id=d["eventId"],
            job_id=d["jobId"],
            tenant_id=d["tenantId"],
            status=d["status"],
            result_urls=list(d.get("resultUrls") or []),
            error=JobError.from_dict(err) if err is not None else None,
            livemode=d.get("livemode"),
            images=_images(d),
            usage=_usage(d),
            request=_request(d),
            timestamp=d["timestamp"],
            raw=dict(d),
        )
