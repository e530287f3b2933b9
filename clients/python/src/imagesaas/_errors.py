"""Exceptions: one ``ApiError`` subclass per error code of the contract.

Every error answer of the API has the body
``{"error": "ERROR_CODE", "message": "..."}``; ``ApiError.from_response``
picks the class by ``error``. An answer without that shape (API Gateway's
own ``404 {"message":"Not Found"}`` or ``429 {"message":"Too Many
Requests"}`` in front of a deployed stack) is classed by its HTTP status,
with ``code`` ``None``.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import json
from typing import Any, Dict, Mapping, Optional, Type

from ._models import Job, Quota, RateLimit, ResponseMeta


_UNSET: Any = object()


class ImageSaaSError(Exception):
    """Base of every exception this package raises."""


class ApiError(ImageSaaSError):
    """The API answered with an error.

    ``code`` (the contract's ``error``), ``message``, ``status`` (HTTP),
    ``request_id`` (``X-Request-Id``: quote it to support), ``retry_after``
    (seconds, from ``Retry-After``, or ``None``), and the submit's
    ``rate_limit`` and ``quota`` headers when the answer had them.
    """

    code: Optional[str] = None  # the class's own code; instances set theirs

    def __init__(
        self,
        message: str,
        *,
        code: Any = _UNSET,
        status: int = 0,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        meta: Optional[ResponseMeta] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # The code the answer named; None when it had no error body (an answer
        # of API Gateway in front of a deployed stack).
        self.code: Optional[str] = type(self).code if code is _UNSET else code
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.meta = meta
        self.body = body

    @property
    def headers(self) -> Dict[str, str]:
        return dict(self.meta.headers) if self.meta else {}

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        return self.meta.rate_limit if self.meta else None

    @property
    def quota(self) -> Optional[Quota]:
        return self.meta.quota if self.meta else None

    def __str__(self) -> str:
        parts = [f"{self.status} {self.code or 'HTTP error'}: {self.message}"]
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status}, "
            f"message={self.message!r}, request_id={self.request_id!r}, "
            f"retry_after={self.retry_after!r})"
        )

    @staticmethod
    def from_response(status: int, headers: Mapping[str, str], content: bytes) -> "ApiError":
        meta = ResponseMeta.from_response(status, headers)
        body: Any = None
        try:
            body = json.loads(content) if content else None
        except ValueError:
            body = None
        code: Optional[str] = None
        message: Optional[str] = None
        if isinstance(body, dict):
            if isinstance(body.get("error"), str):
                code = body["error"]
            if isinstance(body.get("message"), str):
                message = body["message"]
        if message is None:
            message = content.decode("utf-8", "replace")[:500] if content else f"HTTP {status}"
        cls = ERROR_CLASSES.get(code) if code else None
        if cls is None:
            cls = _class_for_status(status)
        return cls(
            message,
            code=code,
            status=status,
            request_id=meta.request_id,
            retry_after=parse_retry_after(meta.headers.get("retry-after")),
            meta=meta,
            body=body,
        )


class InvalidRequestError(ApiError):
    """400 ``INVALID_REQUEST``: a bad body, field, header or query parameter (the message names it)."""

    code = "INVALID_REQUEST"


class InvalidApiKeyError(ApiError):
    """401 ``INVALID_API_KEY``: a missing, malformed, unknown or revoked key."""

    code = "INVALID_API_KEY"


AuthenticationError = InvalidApiKeyError


class RateLimitError(ApiError):
    """429 ``RATE_LIMIT_EXCEEDED``: over the RPM or concurrency limit; ``retry_after`` says when to retry.

    The client retries these itself (``max_retries``) when ``Retry-After`` is
    at most ``max_retry_wait``; it raises this when it gives up.
    """

    code = "RATE_LIMIT_EXCEEDED"


class QuotaExceededError(ApiError):
    """429 ``QUOTA_EXCEEDED``: the month's image quota has no room for this submit.

    Never retried: ``retry_after`` is the seconds to the next UTC month.
    Not a ``RateLimitError`` on purpose, so that code which sleeps on
    ``RateLimitError.retry_after`` does not sleep for a month.
    """

    code = "QUOTA_EXCEEDED"


class JobNotFoundError(ApiError):
    """404 ``JOB_NOT_FOUND``: no such job in the caller's tenant and mode."""

    code = "JOB_NOT_FOUND"


class InvalidStateError(ApiError):
    """400 ``INVALID_STATE``: the job's status does not allow the operation (cancel, redelivery)."""

    code = "INVALID_STATE"


class IdempotencyKeyReusedError(ApiError):
    """422 ``IDEMPOTENCY_KEY_REUSED``: the ``Idempotency-Key`` was used with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"


class NotFoundError(ApiError):
    """404 ``NOT_FOUND``: no such route (a wrong ``base_url``, or an older deployment)."""

    code = "NOT_FOUND"


class UnknownError(ApiError):
    """500 ``UNKNOWN_ERROR`` (and any other 5xx): retried by the client, raised when it gives up."""

    code = "UNKNOWN_ERROR"


ERROR_CLASSES: Dict[str, Type[ApiError]] = {
    cls.code: cls
    for cls in (
        InvalidRequestError,
        InvalidApiKeyError,
        RateLimitError,
        QuotaExceededError,
        JobNotFoundError,
        InvalidStateError,
        IdempotencyKeyReusedError,
        NotFoundError,
        UnknownError,
    )
}


def _class_for_status(status: int) -> Type[ApiError]:
    if status == 401:
        return InvalidApiKeyError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status == 422:
        return IdempotencyKeyReusedError
    if status >= 500:
        return UnknownError
    if status == 400:
        return InvalidRequestError
    return ApiError


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` in seconds: delta-seconds (the contract's form) or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class APIConnectionError(ImageSaaSError):
    """The API could not be reached (after the retries): no answer at all."""


class APITimeoutError(APIConnectionError):
    """A request timed out (after the retries)."""


class WaitTimeoutError(ImageSaaSError, TimeoutError):
    """``wait`` ran out of ``timeout`` before the job ended.

    ``job`` is the last view read (its ``status`` is not terminal): the job
    goes on, and can be waited for again with ``jobs.wait(job.job_id)``.
    """

    def __init__(self, message: str, job: Job) -> None:
        super().__init__(message)
        self.job = job
