"""Retries: 429 after Retry-After (never QUOTA_EXCEEDED), 5xx and dropped connections with backoff, one idempotency key."""

from __future__ import annotations

import time

import httpx
import pytest

from support import BASE_URL
from fake_api import DEV_KEY
from imagesaas import (
    APIConnectionError,
    APITimeoutError,
    ImageSaaS,
    InvalidRequestError,
    QuotaExceededError,
    RateLimitError,
    UnknownError,
)

RPM_MESSAGE = "Rate limit exceeded: at most 60 submits per minute for this tenant"


def test_a_429_is_retried_after_retry_after_for_real(fake):
    # A real sleep: Retry-After 1 (the contract's smallest) must hold the retry back a second.
    fake.fail_next("POST", "/v1/images/generate", 429, "RATE_LIMIT_EXCEEDED", RPM_MESSAGE, headers={"Retry-After": "1"})
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport) as c:
        started = time.monotonic()
        sub = c.generate("A cat")
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.5
    a, b = fake.submits()
    assert a.headers["idempotency-key"] == b.headers["idempotency-key"] == sub.idempotency_key
    assert len(fake.jobs) == 1 and sub.status == "QUEUED"


def test_retry_after_is_honoured_with_a_little_jitter(client, fake, sleeps):
    for ra in ("5", "2"):
        fake.fail_next("POST", "/v1/images/generate", 429, "RATE_LIMIT_EXCEEDED", RPM_MESSAGE, headers={"Retry-After": ra})
    client.generate("A cat")
    assert len(sleeps.calls) == 2
    assert 5.0 <= sleeps.calls[0] <= 5.5 and 2.0 <= sleeps.calls[1] <= 2.2
    assert len(fake.submits()) == 3 and len(fake.jobs) == 1


def test_quota_exceeded_is_never_retried(client, fake, sleeps):
    fake.quota = (10, 8)
    with pytest.raises(QuotaExceededError) as info:
        client.generate("A cat", number_of_images=4)
    e = info.value
    assert e.status == 429 and e.code == "QUOTA_EXCEEDED" and e.retry_after == 2500000
    assert e.quota.limit == 10 and e.quota.remaining == 2 and e.rate_limit is not None
    assert "Monthly image quota exceeded" in e.message
    assert sleeps.calls == [] and len(fake.submits()) == 1 and not fake.jobs
    # A smaller submit may still fit.
    assert client.generate("A cat", number_of_images=2).quota.remaining == 0


def test_a_retry_after_longer_than_max_retry_wait_is_raised_not_slept(fake, sleeps):
    fake.fail_next("POST", "/v1/images/generate", 429, "RATE_LIMIT_EXCEEDED", RPM_MESSAGE, headers={"Retry-After": "45"})
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, max_retry_wait=30) as c:
        c._sleep = sleeps
        with pytest.raises(RateLimitError) as info:
            c.generate("A cat")
    assert info.value.retry_after == 45 and sleeps.calls == []


def test_rate_limit_retries_give_up_after_max_retries(client, fake, sleeps):
    fake.rpm_used = fake.rpm_limit  # every submit is over the limit
    with pytest.raises(RateLimitError) as info:
        client.generate("A cat")
    assert info.value.message == RPM_MESSAGE and info.value.retry_after == 1
    assert len(fake.submits()) == 4 and len(sleeps.calls) == 3  # max_retries=3


def test_5xx_is_retried_with_jittered_exponential_backoff(client, fake, sleeps):
    for status in (500, 502, 503):
        fake.fail_next("GET", "/v1/jobs", status, "UNKNOWN_ERROR", "An unexpected error occurred. Please retry; if it persists, contact support.")
    page = client.jobs.list_page()
    assert page.items == []
    assert len(sleeps.calls) == 3
    # base 0.5 s doubling, each 50-100 % of its step
    for n, d in enumerate(sleeps.calls):
        assert 0.5 * 0.5 * 2**n <= d <= 0.5 * 2**n
    assert len({round(d, 6) for d in sleeps.calls}) == 3


def test_5xx_gives_up_after_max_retries(fake, sleeps):
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, max_retries=1) as c:
        c._sleep = sleeps
        for _ in range(2):
            fake.fail_next("GET", "/v1/jobs", 500, "UNKNOWN_ERROR", "boom")
        with pytest.raises(UnknownError):
            c.jobs.list_page()
    assert len(sleeps.calls) == 1


def test_a_4xx_is_not_retried(client, fake, sleeps):
    with pytest.raises(InvalidRequestError):
        client.generate("x", output_quality=5)
    assert sleeps.calls == [] and len(fake.submits()) == 1


def test_a_dropped_connection_on_submit_is_retried_with_the_same_key_and_makes_one_job(client, fake, sleeps):
    # The service took the submit and made the job; the answer was lost on the way back.
    fake.drop_next("POST", "/v1/images/generate", after=True)
    sub = client.generate("A cute cat", mode="draft")
    first, second = fake.submits()
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == sub.idempotency_key
    assert first.body == second.body
    assert len(fake.jobs_of(livemode=False)) == 1  # counted as the tenant's jobs
    assert sub.replayed and sub.job_id == next(iter(fake.jobs))
    assert len(sleeps.calls) == 1


def test_a_dropped_connection_with_the_callers_key(client, fake):
    fake.drop_next("POST", "/v1/images/generate", after=True)
    fake.drop_next("POST", "/v1/images/generate", after=True)
    sub = client.generate("A cat", idempotency_key="order-77")
    assert [r.headers["idempotency-key"] for r in fake.submits()] == ["order-77"] * 3
    assert len(fake.jobs) == 1 and sub.replayed


def test_a_connection_refused_before_the_request_is_retried(client, fake):
    fake.drop_next("POST", "/v1/images/generate", after=False, exc=httpx.ConnectError("Connection refused"))
    sub = client.generate("A cat")
    assert len(fake.jobs) == 1 and not sub.replayed


def test_connection_errors_give_up_as_api_connection_error(client, fake, sleeps):
    for _ in range(4):
        fake.drop_next("GET", "/v1/jobs", after=False, exc=httpx.ConnectError("Connection refused"))
    with pytest.raises(APIConnectionError) as info:
        client.jobs.list_page()
    assert isinstance(info.value.__cause__, httpx.ConnectError) and len(sleeps.calls) == 3


def test_timeouts_give_up_as_api_timeout_error(client, fake):
    for _ in range(4):
        fake.drop_next("GET", "/v1/jobs", after=False, exc=httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError):
        client.jobs.list_page()


def test_max_retries_zero_sends_once(fake, sleeps):
    fake.drop_next("POST", "/v1/images/generate", after=True)
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, max_retries=0) as c:
        c._sleep = sleeps
        with pytest.raises(APIConnectionError):
            c.generate("A cat")
    assert len(fake.submits()) == 1 and sleeps.calls == []
