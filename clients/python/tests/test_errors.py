"""Every error code of the contract is its own ApiError subclass with code, message, status, request_id, retry_after."""

from __future__ import annotations

import pytest

import imagesaas
from support import BASE_URL, examples
from fake_api import DEV_KEY
from imagesaas import (
    ApiError,
    IdempotencyKeyReusedError,
    ImageSaaS,
    InvalidApiKeyError,
    InvalidRequestError,
    InvalidStateError,
    JobNotFoundError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    UnknownError,
)

# code -> (class, HTTP status), as docs/API.md's Errors table.
CONTRACT = {
    "INVALID_REQUEST": (InvalidRequestError, 400),
    "INVALID_API_KEY": (InvalidApiKeyError, 401),
    "JOB_NOT_FOUND": (JobNotFoundError, 404),
    "NOT_FOUND": (NotFoundError, 404),
    "INVALID_STATE": (InvalidStateError, 400),
    "IDEMPOTENCY_KEY_REUSED": (IdempotencyKeyReusedError, 422),
    "RATE_LIMIT_EXCEEDED": (RateLimitError, 429),
    "QUOTA_EXCEEDED": (QuotaExceededError, 429),
    "UNKNOWN_ERROR": (UnknownError, 500),
}


def test_the_table_is_every_code_of_the_spec(openapi):
    assert set(openapi["components"]["schemas"]["ErrorCode"]["enum"]) == set(CONTRACT)
    assert set(imagesaas._errors.ERROR_CLASSES) == set(CONTRACT)


@pytest.fixture
def no_retry(fake):
    c = ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, max_retries=0)
    yield c
    c.close()


@pytest.mark.parametrize("code", sorted(CONTRACT))
def test_each_code_raises_its_class_with_every_attribute(no_retry, fake, code):
    cls, status = CONTRACT[code]
    fake.fail_next(
        "GET", "/v1/jobs", status, code, message=f"the {code} message",
        headers={"X-Request-Id": "req-abc123", "Retry-After": "7"},
    )
    with pytest.raises(cls) as info:
        no_retry.jobs.list_page()
    e = info.value
    assert isinstance(e, ApiError) and type(e) is cls
    assert (e.code, e.message, e.status, e.request_id, e.retry_after) == (code, f"the {code} message", status, "req-abc123", 7.0)
    assert e.body == {"error": code, "message": f"the {code} message"}
    assert "req-abc123" in str(e) and code in str(e)


def test_quota_exceeded_is_not_a_rate_limit_error():
    assert not issubclass(QuotaExceededError, RateLimitError)
    assert issubclass(QuotaExceededError, ApiError)


def test_the_spec_error_examples_map_to_their_classes(no_retry, fake, openapi):
    cases = [
        ("/v1/images/generate", "post", "400"),
        ("/v1/images/generate", "post", "401"),
        ("/v1/images/generate", "post", "422"),
        ("/v1/images/generate", "post", "429"),
        ("/v1/images/generate", "post", "500"),
        ("/v1/jobs/{jobId}", "get", "404"),
        ("/v1/jobs/{jobId}", "delete", "400"),
        ("/v1/jobs/{jobId}/deliveries", "post", "400"),
        ("/v1/usage", "get", "400"),
    ]
    seen = set()
    for path, method, status in cases:
        for name, ex in examples(openapi, path, method, status).items():
            fake.fail_next("POST", "/v1/images/generate", int(status), None, body=ex)
            with pytest.raises(ApiError) as info:
                no_retry.generate("x")
            cls, st = CONTRACT[ex["error"]]
            assert type(info.value) is cls and info.value.status == int(status) == st
            assert info.value.message == ex["message"]
            seen.add(ex["error"])
    assert seen >= set(CONTRACT) - {"NOT_FOUND"}


def test_real_errors_from_the_fake(client, fake):
    with ImageSaaS(api_key="img_test_nobody_0000", base_url=BASE_URL, transport=fake.transport) as bad:
        with pytest.raises(InvalidApiKeyError, match="Invalid API key"):
            bad.jobs.list_page()
    with pytest.raises(JobNotFoundError) as info:
        client.jobs.get("cmkuz35wf00034rk15ycgzvce")
    assert info.value.status == 404 and info.value.request_id
    (done,) = fake.plant(1, status="SUCCEEDED")
    with pytest.raises(InvalidStateError, match="is SUCCEEDED"):
        client.jobs.cancel(done.id)
    running = client.generate("still going")
    with pytest.raises(InvalidStateError, match="is QUEUED"):
        client.jobs.redeliver(running.job_id)
    fake.webhook_target = False
    with pytest.raises(InvalidRequestError, match="no webhook target"):
        client.jobs.redeliver(done.id)
    with pytest.raises(InvalidRequestError, match="outputQuality") as info:
        client.generate("x", output_format="png", output_quality=50)
    assert info.value.rate_limit is not None  # a refused submit still reports the limits
    client.generate("a cat", idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReusedError):
        client.generate("a dog", idempotency_key="k-1")
    with pytest.raises(InvalidRequestError, match="92 days"):
        client.usage(from_="2026-01-01", to="2026-12-31")
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL + "/nope", transport=fake.transport) as wrong:
        with pytest.raises(NotFoundError):
            wrong.jobs.list_page()


def test_answers_without_the_error_shape_are_classed_by_status(no_retry, fake):
    # API Gateway's own answers in front of a deployed stack.
    fake.fail_next("GET", "/v1/jobs", 404, None, body={"message": "Not Found"})
    with pytest.raises(NotFoundError) as info:
        no_retry.jobs.list_page()
    assert info.value.code is None and info.value.message == "Not Found"
    fake.fail_next("GET", "/v1/jobs", 429, None, body={"message": "Too Many Requests"})
    with pytest.raises(RateLimitError) as info:
        no_retry.jobs.list_page()
    assert info.value.code is None and info.value.retry_after is None
    fake.fail_next("GET", "/v1/jobs", 502, None, body=["not", "an", "object"])
    with pytest.raises(UnknownError) as info:
        no_retry.jobs.list_page()
    assert info.value.status == 502


def test_an_unknown_code_is_a_plain_api_error(no_retry, fake):
    fake.fail_next("GET", "/v1/jobs", 409, "SOMETHING_NEW", message="a newer deployment")
    with pytest.raises(ApiError) as info:
        no_retry.jobs.list_page()
    assert type(info.value) is ApiError and info.value.code == "SOMETHING_NEW" and info.value.status == 409


def test_a_2xx_that_is_not_json_is_an_error(no_retry, fake):
    import httpx

    from fake_api import Fault

    fake.faults.append(Fault("GET", "/v1/jobs", lambda f, r: httpx.Response(200, content=b"<html>gateway</html>")))
    with pytest.raises(ApiError, match="not a JSON object"):
        no_retry.jobs.list_page()


def test_retry_after_as_an_http_date():
    from imagesaas._errors import parse_retry_after

    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_2xx_without_the_contracts_fields_is_an_api_error_not_a_key_error(no_retry, fake):
    fake.fail_next("GET", "/v1/jobs/", 200, None, body={"jobId": "cmkuz35wf00034rk15ycgzvce"})
    with pytest.raises(ApiError, match="does not describe") as info:
        no_retry.jobs.get("cmkuz35wf00034rk15ycgzvce")
    assert isinstance(info.value.__cause__, KeyError)
    fake.fail_next("POST", "/v1/images/generate", 202, None, body={"status": "QUEUED"})
    with pytest.raises(ApiError, match="does not describe"):
        no_retry.generate("x")
