"""The client against a running stack: the quick start, waiting, paging."""

from __future__ import annotations

import asyncio
import datetime as _dt

import httpx
import pytest

import live_stack
from imagesaas import AsyncImageSaaS, ImageSaaS, WaitTimeoutError


def test_the_readme_quick_start_returns_a_finished_job_whose_image_downloads(base_url: str) -> None:
    with ImageSaaS(api_key=live_stack.DEV_KEY, base_url=base_url) as client:
        job = client.generate(prompt="A cute cat", mode="draft", wait=True, timeout=120)
    assert job.status == "SUCCEEDED", job.error
    assert job.error is None
    assert len(job.result_urls) == 1
    assert job.images[0].url == job.result_urls[0]
    assert job.images[0].width > 0 and job.images[0].height > 0
    assert job.usage is not None and job.usage.images == 1 and job.usage.cost_usd == 0
    assert job.submission is not None and job.submission.job_id == job.job_id
    image = httpx.get(job.result_urls[0], timeout=30)
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image.content) == job.images[0].bytes


def test_a_wait_that_runs_out_raises_with_the_last_view_and_the_job_can_be_waited_for_again(
    new_tenant, connect
) -> None:
    tenant = new_tenant()
    client = connect(tenant.key)
    with live_stack.StallingImage() as reference:
        with pytest.raises(WaitTimeoutError) as timed_out:
            client.generate(prompt="held by its input", input_image_url=reference.image_url, wait=True, timeout=2)
        held = timed_out.value.job
        assert held.status in ("QUEUED", "RUNNING", "RETRYING")
        reference.release()
        job = client.jobs.wait(held.job_id, timeout=120)
    assert job.job_id == held.job_id
    assert job.status == "SUCCEEDED", job.error
    assert job.request is not None and job.request.input_images == 1


def test_listing_follows_the_cursors_over_120_jobs_newest_first(new_tenant, base_url: str) -> None:
    tenant = new_tenant()
    recorder = live_stack.Recorder()

    async def submit_all() -> list:
        async with AsyncImageSaaS(api_key=tenant.key, base_url=base_url) as aclient:
            gate = asyncio.Semaphore(8)

            async def one(i: int) -> str:
                async with gate:
                    return (await aclient.generate(prompt=f"job {i}", mode="draft")).job_id

            return await asyncio.gather(*(one(i) for i in range(120)))

    submitted = asyncio.run(submit_all())
    assert len(set(submitted)) == 120

    http = httpx.Client(event_hooks=recorder.hooks())
    with ImageSaaS(api_key=tenant.key, base_url=base_url, http_client=http) as client:
        listed = list(client.jobs.list(page_size=25))
        pages = [e for e in recorder.exchanges if e.path == "/v1/jobs"]
        assert len(pages) == 5, "120 jobs are 5 pages of 25"
        assert sorted(j.id for j in listed) == sorted(submitted)
        created = [j.created_at for j in listed]
        assert created == sorted(created, reverse=True), "newest first"

        def all_succeeded() -> bool:
            return all(j.status == "SUCCEEDED" for j in client.jobs.list(page_size=100))

        live_stack.until("all 120 jobs to succeed", all_succeeded, timeout=300, every=1.0)
        assert sum(1 for _ in client.jobs.list(status="SUCCEEDED")) == 120
        assert list(client.jobs.list(status="QUEUED")) == []

        today = _dt.datetime.now(_dt.timezone.utc).date()
        usage = client.usage(from_=today, to=today)
    http.close()
    assert usage.livemode is False
    assert (usage.total.jobs, usage.total.images, usage.total.cost_usd) == (120, 120, 0)
    assert [d.date for d in usage.days] == [today]
    assert usage.days[0].draft.jobs == 120


def test_the_async_client_waits_for_a_job_like_the_sync_one(new_tenant, base_url: str) -> None:
    tenant = new_tenant()

    async def run():
        async with AsyncImageSaaS(api_key=tenant.key, base_url=base_url, poll_interval=0.2) as aclient:
            job = await aclient.generate(prompt="async", number_of_images=2, output_format="webp", wait=True, timeout=120)
            listed = [j async for j in aclient.jobs.list()]
            return job, listed

    job, listed = asyncio.run(run())
    assert job.status == "SUCCEEDED", job.error
    assert len(job.result_urls) == 2
    assert {i.content_type for i in job.images} == {"image/webp"}
    assert [j.id for j in listed] == [job.job_id]
