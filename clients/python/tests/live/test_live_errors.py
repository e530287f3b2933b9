"""Every error class the stack answers, and the retries that are safe."""

from __future__ import annotations

import uuid

import httpx
import pytest

import live_stack
from imagesaas import (
    ApiError,
    IdempotencyKeyReusedError,
    InvalidApiKeyError,
    InvalidRequestError,
    InvalidStateError,
    JobNotFoundError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
)

# UNKNOWN_ERROR (500) is not something a healthy stack can be made to answer;
# the fake suite (tests/test_errors.py) covers its class and its retries.


def assert_error(err: ApiError, cls: type, code: str, status: int, *, from_a_handler: bool = True) -> None:
    assert type(err) is cls
    assert (err.code, err.status) == (code, status)
    assert err.message
    if from_a_handler:
        assert err.request_id, "every answer of a function carries X-Request-Id"


def test_an_empty_prompt_is_an_invalid_request(new_tenant, connect) -> None:
    client = connect(new_tenant().key)
    with pytest.raises(InvalidRequestError) as e:
        client.generate(prompt="")
    assert_error(e.value, InvalidRequestError, "INVALID_REQUEST", 400)
    assert "prompt" in e.value.message


def test_an_unknown_key_is_refused(connect) -> None:
    client = connect("img_test_" + uuid.uuid4().hex)
    with pytest.raises(InvalidApiKeyError) as e:
        client.jobs.list_page()
    assert_error(e.value, InvalidApiKeyError, "INVALID_API_KEY", 401)


def test_over_the_rpm_limit_is_a_rate_limit_error_with_retry_after(new_tenant, connect) -> None:
    client = connect(new_tenant(rpm=1).key, max_retries=0)
    first = client.generate(prompt="the one a minute")
    assert first.meta is not None and first.meta.rate_limit is not None
    assert (first.meta.rate_limit.limit, first.meta.rate_limit.remaining) == (1, 0)
    # The second submit is refused, unless the clock minute turned between
    # the two: then the third is.
    with pytest.raises(RateLimitError) as e:
        for attempt in range(2):
            client.generate(prompt=f"one too many ({attempt})")
    assert_error(e.value, RateLimitError, "RATE_LIMIT_EXCEEDED", 429)
    assert "per minute" in e.value.message
    assert e.value.retry_after is not None and 0 < e.value.retry_after <= 60
    assert e.value.rate_limit is not None and e.value.rate_limit.remaining == 0


def test_a_spent_quota_is_raised_at_once_and_never_retried(new_tenant, connect) -> None:
    recorder = live_stack.Recorder()
    http = httpx.Client(event_hooks=recorder.hooks())
    client = connect(new_tenant(monthly_image_quota=1).key, http_client=http, max_retries=5)
    client.generate(prompt="the month's only image")
    with pytest.raises(QuotaExceededError) as e:
        client.generate(prompt="the second")
    http.close()
    assert_error(e.value, QuotaExceededError, "QUOTA_EXCEEDED", 429)
    assert e.value.retry_after is not None and e.value.retry_after > 0
    assert e.value.quota is not None and (e.value.quota.limit, e.value.quota.remaining) == (1, 0)
    assert [s.status for s in recorder.submits()] == [202, 429], "one attempt of the refused submit"


def test_another_tenants_job_is_not_found(new_tenant, connect) -> None:
    owner = connect(new_tenant().key)
    theirs = owner.generate(prompt="mine").job_id
    stranger = connect(new_tenant().key)
    with pytest.raises(JobNotFoundError) as e:
        stranger.jobs.get(theirs)
    assert_error(e.value, JobNotFoundError, "JOB_NOT_FOUND", 404)
    with pytest.raises(JobNotFoundError):
        stranger.jobs.cancel(theirs)


def test_canceling_a_finished_job_is_an_invalid_state(new_tenant, connect) -> None:
    client = connect(new_tenant().key)
    done = client.generate(prompt="finished", wait=True, timeout=120)
    assert done.status == "SUCCEEDED"
    with pytest.raises(InvalidStateError) as e:
        client.jobs.cancel(done.job_id)
    assert_error(e.value, InvalidStateError, "INVALID_STATE", 400)
    assert client.jobs.get(done.job_id).status == "SUCCEEDED"


def test_an_idempotency_key_reused_with_another_body_is_refused(new_tenant, connect) -> None:
    client = connect(new_tenant().key)
    first = client.generate(prompt="a red fox", idempotency_key="order-7")
    again = client.generate(prompt="a red fox", idempotency_key="order-7")
    assert again.job_id == first.job_id
    assert again.meta is not None and again.meta.replayed
    with pytest.raises(IdempotencyKeyReusedError) as e:
        client.generate(prompt="a blue fox", idempotency_key="order-7")
    assert_error(e.value, IdempotencyKeyReusedError, "IDEMPOTENCY_KEY_REUSED", 422)


def test_an_unknown_route_is_not_found(new_tenant, connect, base_url: str) -> None:
    client = connect(new_tenant().key, base_url=f"{base_url}/nope")
    with pytest.raises(NotFoundError) as e:
        client.jobs.list_page()
    # The local server's stand-in for API Gateway's own 404: no function ran,
    # so there is no request id (a deployed stack's gateway answers
    # {"message":"Not Found"}, which the client classes by status).
    assert_error(e.value, NotFoundError, "NOT_FOUND", 404, from_a_handler=False)


def test_a_429_is_retried_after_its_retry_after_with_the_same_idempotency_key(new_tenant, connect) -> None:
    tenant = new_tenant(max_concurrency=1)
    with live_stack.StallingImage() as reference:
        holder = connect(tenant.key)
        held = holder.generate(prompt="holds the only slot", input_image_url=reference.image_url)

        # The first refusal lets the held job finish, so a retry can get in.
        def on_status(status: int) -> None:
            if status == 429:
                reference.release()

        recorder = live_stack.Recorder(on_status=on_status)
        http = httpx.Client(event_hooks=recorder.hooks())
        client = connect(tenant.key, http_client=http, max_retries=20)
        accepted = client.generate(prompt="waits its turn")
        http.close()
    attempts = recorder.submits()
    assert [a.status for a in attempts][0] == 429
    assert attempts[-1].status == 202
    assert {a.idempotency_key for a in attempts} == {accepted.idempotency_key}
    for refused, retry in zip(attempts, attempts[1:]):
        assert refused.status == 429 and refused.retry_after is not None
        assert refused.answered_at is not None
        assert retry.sent_at - refused.answered_at >= float(refused.retry_after), "retried no sooner than Retry-After"
    assert accepted.job_id != held.job_id
    assert holder.jobs.get(held.job_id).status == "SUCCEEDED"


def test_a_dropped_connection_on_submit_is_retried_without_a_second_job(new_tenant, connect, base_url: str) -> None:
    tenant = new_tenant()
    with live_stack.DroppingProxy(base_url, drop_submits=1) as proxy:
        client = connect(tenant.key, base_url=proxy.url)
        submission = client.generate(prompt="sent twice, made once")
        forwarded = proxy.submits()
    assert [(f.status, f.dropped) for f in forwarded] == [(202, True), (202, False)]
    assert {f.headers.get("idempotency-key") for f in forwarded} == {submission.idempotency_key}
    assert submission.meta is not None and submission.meta.replayed, "the retry was answered from the first job"
    jobs = list(connect(tenant.key).jobs.list())
    assert [j.id for j in jobs] == [submission.job_id], "exactly one job in the tenant's table"
