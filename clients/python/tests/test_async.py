"""AsyncImageSaaS: the same flows as ImageSaaS (one implementation in imagesaas._core), awaited."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from support import BASE_URL, make_async
from fake_api import DEV_KEY, FakeImageSaaS
from imagesaas import (
    AsyncImageSaaS,
    ImageSaaS,
    InvalidStateError,
    JobNotFoundError,
    QuotaExceededError,
    WaitTimeoutError,
)


def run(coro):
    return asyncio.run(coro)


def test_async_quick_start(fake):
    async def main():
        async with make_async(fake) as c:
            job = await c.generate("A cute cat", mode="draft", wait=True)
            assert job.status == "SUCCEEDED" and job.result_urls and job.images and job.usage and job.error is None
            again = await c.jobs.get(job.job_id)
            assert again.job_id == job.job_id
            return job

    job = run(main())
    assert fake.requests[0].headers["prefer"] == "wait=25"
    assert fake.requests[0].json() == {"prompt": "A cute cat", "mode": "draft"}


def test_async_list_follows_cursors_over_120_jobs(fake):
    planted = fake.plant(120)

    async def main():
        async with make_async(fake) as c:
            return [j async for j in c.jobs.list(status="SUCCEEDED")]

    got = run(main())
    assert [j.id for j in got] == [j.id for j in reversed(planted)]
    assert len([r for r in fake.requests if r.path == "/v1/jobs"]) == 3


def test_async_dropped_submit_is_retried_with_the_same_key(fake):
    fake.drop_next("POST", "/v1/images/generate", after=True)

    async def main():
        async with make_async(fake) as c:
            slept = []

            async def sleep(s):
                slept.append(s)

            c._sleep = sleep
            return await c.generate("A cat"), slept

    sub, slept = run(main())
    a, b = fake.submits()
    assert a.headers["idempotency-key"] == b.headers["idempotency-key"] == sub.idempotency_key
    assert len(fake.jobs) == 1 and sub.replayed and len(slept) == 1


def test_async_429_retry_after_and_quota(fake):
    fake.fail_next("POST", "/v1/images/generate", 429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded", headers={"Retry-After": "1"})

    async def main():
        async with make_async(fake) as c:
            started = time.monotonic()
            await c.generate("A cat")
            elapsed = time.monotonic() - started
            fake.quota = (1, 1)
            with pytest.raises(QuotaExceededError):
                await c.generate("A dog")
            return elapsed

    assert run(main()) >= 1.0
    assert len(fake.submits()) == 3


def test_async_errors_and_the_rest_of_the_surface(fake):
    (done,) = fake.plant(1)

    async def main():
        async with make_async(fake) as c:
            with pytest.raises(JobNotFoundError):
                await c.jobs.get("cmkuz35wf00034rk15ycgzvce")
            with pytest.raises(InvalidStateError):
                await c.jobs.cancel(done.id)
            sub = await c.generate("x")
            assert (await c.jobs.cancel(sub.job_id)).status == "CANCELED"
            assert (await c.jobs.redeliver(done.id)).status == "pending"
            assert await c.jobs.deliveries(done.id) == []
            page = await c.jobs.list_page(limit=1)
            assert len(page.items) == 1 and page.has_more
            u = await c.usage(from_="2026-12-01", to="2026-12-31")
            assert len(u.days) == 31 and u.total.jobs == 1
            assert (await c.health())["status"] == "ok"

    run(main())


def test_async_wait_is_bounded_by_timeout(fake):
    fake.reads_until_done = None
    fake.hold_cap = 0.5

    async def main():
        async with make_async(fake, poll_interval=0.05) as c:
            sub = await c.generate("A cat")
            started = time.monotonic()
            with pytest.raises(WaitTimeoutError) as info:
                await c.jobs.wait(sub.job_id, timeout=1.5)
            return time.monotonic() - started, info.value

    elapsed, e = run(main())
    assert elapsed < 3.0 and e.job.status == "RUNNING"


def _calls(client_kind: str):
    """The same calls through either client; the requests the fake saw."""
    fake = FakeImageSaaS(seed=7)
    fake.plant(3)
    fake.reads_until_done = 1
    fake.hold_cap = 0.0

    def sync():
        with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL, transport=fake.transport, poll_interval=0) as c:
            c.generate("A cat", mode="draft", aspect_ratio="3:2", number_of_images=2, idempotency_key="k", wait=True)
            list(c.jobs.list(page_size=2))
            c.usage(from_="2026-12-01")

    async def async_():
        async with make_async(fake, poll_interval=0) as c:
            await c.generate("A cat", mode="draft", aspect_ratio="3:2", number_of_images=2, idempotency_key="k", wait=True)
            [j async for j in c.jobs.list(page_size=2)]
            await c.usage(from_="2026-12-01")

    sync() if client_kind == "sync" else run(async_())
    return [
        (r.method, r.path, r.params, r.body, list(r.headers.items()))
        for r in fake.requests
    ]


def test_sync_and_async_send_exactly_the_same_requests():
    assert _calls("sync") == _calls("async")
