"""wait=True: Prefer: wait=N on the submit, then long polls ?wait=N until terminal or timeout; never forever."""

from __future__ import annotations

import time

import httpx
import pytest

from support import BASE_URL
from fake_api import DEV_KEY
from imagesaas import ImageSaaS, Job, WaitTimeoutError


def test_a_job_that_ends_within_the_submits_wait_is_one_request(client, fake):
    job = client.generate("A cute cat", mode="draft", wait=True)
    assert isinstance(job, Job) and job.status == "SUCCEEDED" and job.is_terminal
    assert job.result_urls and job.images[0].url == job.result_urls[0] and job.images[0].width == 1024
    assert job.usage.images == 1 and job.request.mode == "draft" and job.livemode is False and job.error is None
    (req,) = fake.requests
    assert req.headers["prefer"] == "wait=25"
    assert job.meta.status_code == 200 and job.meta.preference_applied == "wait=25"
    assert job.submission.job_id == job.job_id and job.submission.rate_limit.remaining == 59


def test_a_job_still_running_after_the_submits_wait_is_long_polled(client, fake):
    fake.reads_until_done = 3
    fake.hold_cap = 0.01
    job = client.generate("A cute cat", wait=True, timeout=120)
    assert job.status == "SUCCEEDED"
    submit, *polls = fake.requests
    assert submit.headers["prefer"].startswith("wait=")
    assert len(polls) == 3
    for p in polls:
        assert p.method == "GET" and p.path == f"/v1/jobs/{job.job_id}"
        (name, value), = p.params
        assert name == "wait" and 1 <= int(value) <= 25
    assert job.submission.meta.status_code == 202 and job.submission.meta.location == f"/v1/jobs/{job.job_id}"


def test_a_failed_job_is_returned_not_raised(client, fake):
    fake.finish_as = "FAILED"
    job = client.generate("x", wait=True)
    assert job.status == "FAILED" and job.error.code == "GENERATION_FAILED" and job.result_urls == []
    assert job.usage.images == 0


def test_wait_is_bounded_by_timeout(fake):
    fake.reads_until_done = None  # never ends
    fake.hold_cap = 1.0  # each wait really holds up to a second
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, poll_interval=0.05) as c:
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError) as info:
            c.generate("A cat", wait=True, timeout=2.5)
        elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 3.5
    e = info.value
    assert isinstance(e, TimeoutError) and e.job.status == "RUNNING" and not e.job.is_terminal
    assert fake.requests[0].headers["prefer"] == "wait=2"
    # Each long poll asks for no more than what is left.
    for r in fake.requests[1:]:
        assert all(int(v) <= 2 for k, v in r.params if k == "wait")


def test_a_wait_with_under_a_second_left_reads_once_more_at_its_timeout_not_before(fake):
    fake.reads_until_done = None  # never ends
    fake.hold_cap = 1.0  # the submit's wait=1 holds a second, leaving 0.6 s
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, poll_interval=0.05) as c:
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError):
            c.generate("A cat", wait=True, timeout=1.6)
        elapsed = time.monotonic() - started
    assert elapsed >= 1.6, "gave up before the timeout"
    submit, last = fake.requests
    assert submit.headers["prefer"] == "wait=1"
    assert last.method == "GET" and last.params == [], "the last read is a plain one"


def test_jobs_wait(client, fake):
    fake.reads_until_done = 2
    fake.hold_cap = 0.01
    sub = client.generate("A cat")
    job = client.jobs.wait(sub.job_id, timeout=60)
    assert job.status == "SUCCEEDED" and job.job_id == sub.job_id
    done_requests = len(fake.requests)
    assert client.jobs.wait(sub.job_id, timeout=60).status == "SUCCEEDED"
    assert len(fake.requests) == done_requests + 1  # a terminal job: one read


def test_jobs_wait_times_out(fake):
    fake.reads_until_done = None
    fake.hold_cap = 0.3
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, poll_interval=0.05) as c:
        sub = c.generate("A cat")
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError) as info:
            c.jobs.wait(sub.job_id, timeout=1.2)
        assert time.monotonic() - started < 2.5
    assert info.value.job.job_id == sub.job_id


def test_a_deployment_that_ignores_prefer_and_wait_is_polled_at_poll_interval(fake, sleeps):
    fake.ignore_prefer = True
    fake.ignore_wait = True
    fake.reads_until_done = 4
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, poll_interval=0.5) as c:
        c._sleep = sleeps
        job = c.generate("A cat", wait=True, timeout=60)
    assert job.status == "SUCCEEDED"
    assert fake.requests[0].headers["prefer"] == "wait=25"  # asked, not applied
    assert len(sleeps.calls) == 4 and all(0.3 < s <= 0.5 for s in sleeps.calls)


def test_a_transient_error_during_polling_is_retried(client, fake):
    fake.reads_until_done = 1
    fake.hold_cap = 0.01
    fake.fail_next("GET", "/v1/jobs/", 503, "UNKNOWN_ERROR", "try again")
    assert client.generate("A cat", wait=True, timeout=60).status == "SUCCEEDED"


def test_a_waiting_request_gets_an_http_timeout_beyond_its_wait(fake):
    timeouts = []

    def handler(request):
        timeouts.append((request.headers.get("prefer"), dict(request.url.params).get("wait"), request.extensions["timeout"]["read"]))
        return fake.handle(request)

    fake.reads_until_done = 1
    fake.hold_cap = 0.0
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=httpx.MockTransport(handler), timeout=30) as c:
        c.generate("A cat", wait=True, timeout=300)
        c.jobs.list_page()
    (prefer, _, t_submit), (_, wait, t_poll), (_, _, t_list) = timeouts
    assert prefer == "wait=25" and t_submit >= 35
    assert wait == "25" and t_poll >= 35
    assert t_list == 30


def test_timeout_must_be_positive(client):
    with pytest.raises(ValueError):
        client.generate("x", wait=True, timeout=0)
    with pytest.raises(ValueError):
        client.jobs.wait("cmkuz35wf00034rk15ycgzvce", timeout=-1)


def test_without_wait_there_is_no_prefer_and_no_poll(client, fake):
    fake.reads_until_done = None
    sub = client.generate("A cat")
    assert sub.status == "QUEUED" and len(fake.requests) == 1 and "prefer" not in fake.requests[0].headers
