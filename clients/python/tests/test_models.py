"""Every example of docs/openapi.yaml parses into the models, every field kept and typed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from support import examples, schema
from imagesaas import (
    CancelResult,
    Delivery,
    Job,
    JobListItem,
    JobPage,
    Redelivery,
    UsageReport,
    WebhookEvent,
)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def attr(obj, json_name: str):
    if json_name == "from":
        return obj.from_
    return getattr(obj, snake(json_name))


def model_covers_schema(model, openapi, schema_name, rename=()):
    fields = {f.name for f in dataclasses.fields(model)} | {
        n for n in dir(model) if isinstance(getattr(model, n, None), property)
    }
    rename = dict(rename)
    for prop in schema(openapi, schema_name)["properties"]:
        name = rename.get(prop, snake(prop))
        assert name in fields, f"{model.__name__} has no attribute for {schema_name}.{prop}"


def test_every_model_has_an_attribute_for_every_schema_property(openapi):
    model_covers_schema(Job, openapi, "Job")
    model_covers_schema(JobListItem, openapi, "JobListItem")
    model_covers_schema(JobPage, openapi, "JobList")
    model_covers_schema(Delivery, openapi, "Delivery")
    model_covers_schema(Redelivery, openapi, "Redelivery")
    model_covers_schema(CancelResult, openapi, "CancelResponse")
    model_covers_schema(UsageReport, openapi, "UsageReport", rename={"from": "from_"})
    model_covers_schema(WebhookEvent, openapi, "WebhookEvent")


def check_job_view(job: Job, ex: dict) -> None:
    assert job.job_id == ex["jobId"] == job.id
    assert job.status == ex["status"]
    assert job.result_urls == ex["resultUrls"]
    assert job.livemode is ex["livemode"]
    assert job.created_at == dt.datetime.fromisoformat(ex["createdAt"].replace("Z", "+00:00"))
    assert job.created_at.tzinfo is not None
    assert job.updated_at.isoformat().startswith(ex["updatedAt"][:19])
    if ex["deadlineAt"] is None:
        assert job.deadline_at is None
    else:
        assert job.deadline_at == dt.datetime.fromisoformat(ex["deadlineAt"].replace("Z", "+00:00"))
    if ex["error"] is None:
        assert job.error is None
    else:
        assert (job.error.code, job.error.message) == (ex["error"]["code"], ex["error"]["message"])
    assert len(job.images) == len(ex["images"])
    for img, e in zip(job.images, ex["images"]):
        assert (img.url, img.content_type, img.width, img.height, img.bytes) == (
            e["url"], e["contentType"], e["width"], e["height"], e["bytes"]
        )
    if ex["usage"] is None:
        assert job.usage is None
    else:
        for k, v in ex["usage"].items():
            assert attr(job.usage, k) == v
    for k, v in ex["request"].items():
        assert attr(job.request, k) == v
    assert job.is_terminal == (ex["status"] in ("SUCCEEDED", "FAILED", "CANCELED"))
    assert job.raw == ex


def test_job_view_examples_parse_every_field(client, fake, openapi):
    exs = examples(openapi, "/v1/jobs/{jobId}", "get", "200")
    assert {"queued", "succeeded", "failed", "deadlinePassed"} <= set(exs)
    for name, ex in exs.items():
        fake.fail_next("GET", "/v1/jobs/", 200, None, body=ex)
        job = client.jobs.get(ex["jobId"])
        check_job_view(job, ex)
        assert job.meta.status_code == 200 and job.meta.request_id


def test_waited_submit_examples_parse_as_jobs(client, fake, openapi):
    for name, ex in examples(openapi, "/v1/images/generate", "post", "200").items():
        fake.fail_next("POST", "/v1/images/generate", 200, None, body=ex, headers={"Preference-Applied": "wait=25"})
        job = client.generate("A cute cat", wait=True, timeout=30)
        check_job_view(job, ex)
        assert job.submission.job_id == ex["jobId"]
        assert job.meta.preference_applied == "wait=25"


def test_submit_202_examples_parse(client, fake, openapi):
    exs = examples(openapi, "/v1/images/generate", "post", "202")
    for name in ("queued", "replayed"):
        ex = exs[name]
        fake.fail_next("POST", "/v1/images/generate", 202, None, body=ex, headers={"Idempotent-Replayed": "true"})
        sub = client.generate("A cute cat")
        assert (sub.job_id, sub.status) == (ex["jobId"], ex["status"])
        assert sub.replayed is True
    ex = exs["waitedStillRunning"]
    job = Job.from_dict(ex)
    check_job_view(job, ex)


def test_list_examples_parse_every_field(client, fake, openapi):
    for name, ex in examples(openapi, "/v1/jobs", "get", "200").items():
        fake.fail_next("GET", "/v1/jobs", 200, None, body=ex)
        page = client.jobs.list_page()
        assert page.has_more == ex["hasMore"] and page.next_cursor == ex["nextCursor"]
        assert len(page.items) == len(ex["items"])
        for item, e in zip(page.items, ex["items"]):
            assert item.raw == e
            for k, v in e.items():
                got = attr(item, k)
                if k in ("createdAt", "updatedAt", "deadlineAt"):
                    assert (got is None) == (v is None)
                    if v is not None:
                        assert got == dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
                elif k == "images":
                    assert [i.url for i in got] == [i["url"] for i in v]
                elif k in ("usage", "request"):
                    if v is None:
                        assert got is None
                    else:
                        for kk, vv in v.items():
                            assert attr(got, kk) == vv
                else:
                    assert got == v, k
            assert item.job_id == e["id"]
            if e["errorCode"]:
                assert item.error.code == e["errorCode"]


def test_delivery_examples_parse_every_field(client, fake, openapi):
    exs = examples(openapi, "/v1/jobs/{jobId}/deliveries", "get", "200")
    assert {"retriedThenDelivered", "gone", "timedOut", "none"} <= set(exs)
    for name, ex in exs.items():
        fake.fail_next("GET", "/v1/jobs/", 200, None, body=ex)
        items = client.jobs.deliveries("cmkuz35wf00034rk15ycgzvce")
        assert len(items) == len(ex["items"])
        for d, e in zip(items, ex["items"]):
            assert (d.event_id, d.attempt, d.url, d.status, d.http_status, d.error, d.duration_ms) == (
                e["eventId"], e["attempt"], e["url"], e["status"], e["httpStatus"], e["error"], e["durationMs"]
            )
            assert d.at == dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
            assert (d.next_attempt_at is None) == (e["nextAttemptAt"] is None)
            assert d.delivered == (e["status"] == "delivered")


def test_redelivery_and_cancel_examples_parse(client, fake, openapi):
    ex = examples(openapi, "/v1/jobs/{jobId}/deliveries", "post", "202")["pending"]
    fake.fail_next("POST", "/v1/jobs/", 202, None, body=ex)
    r = client.jobs.redeliver("cmkuz35wf00034rk15ycgzvce")
    assert (r.event_id, r.status) == (ex["eventId"], "pending")
    ex = examples(openapi, "/v1/jobs/{jobId}", "delete", "200")["canceled"]
    fake.fail_next("DELETE", "/v1/jobs/", 200, None, body=ex)
    c = client.jobs.cancel(ex["jobId"])
    assert (c.job_id, c.status) == (ex["jobId"], "CANCELED")


def test_usage_examples_parse_every_field(client, fake, openapi):
    for name, ex in examples(openapi, "/v1/usage", "get", "200").items():
        fake.fail_next("GET", "/v1/usage", 200, None, body=ex)
        u = client.usage(from_=ex["from"], to=ex["to"])
        assert u.livemode is ex["livemode"]
        assert u.from_ == dt.date.fromisoformat(ex["from"]) and u.to == dt.date.fromisoformat(ex["to"])
        assert [d.date.isoformat() for d in u.days] == [d["date"] for d in ex["days"]]
        for d, e in zip(u.days, ex["days"]):
            for mode in ("draft", "final"):
                t = getattr(d, mode)
                assert (t.jobs, t.images, t.cost_usd) == (e[mode]["jobs"], e[mode]["images"], e[mode]["costUsd"])
        assert (u.total.jobs, u.total.images, u.total.cost_usd) == (
            ex["total"]["jobs"], ex["total"]["images"], ex["total"]["costUsd"]
        )


def test_webhook_event_example_parses_every_field(openapi):
    ex = openapi["webhooks"]["jobEnded"]["post"]["requestBody"]["content"]["application/json"]["examples"]["succeeded"]["value"]
    ev = WebhookEvent.from_dict(ex)
    assert (ev.event_id, ev.job_id, ev.tenant_id, ev.status, ev.livemode) == (
        ex["eventId"], ex["jobId"], ex["tenantId"], ex["status"], ex["livemode"]
    )
    assert ev.result_urls == ex["resultUrls"] and ev.error is None
    assert [i.content_type for i in ev.images] == [i["contentType"] for i in ex["images"]]
    assert ev.usage.images == ex["usage"]["images"] and ev.request.input_images == ex["request"]["inputImages"]
    assert ev.timestamp == ex["timestamp"]
    assert ev.occurred_at == dt.datetime(2025, 1, 26, 12, 16, 25, tzinfo=dt.timezone.utc)


def test_a_1_0_job_view_without_the_1_1_fields_still_parses():
    job = Job.from_dict(
        {"jobId": "cmkuz35wf00034rk15ycgzvce", "status": "SUCCEEDED", "resultUrls": ["https://x/0.png"],
         "error": None, "createdAt": "2026-01-26T09:36:16.288Z", "updatedAt": "2026-01-26T09:36:25.123Z"}
    )
    assert job.images == [] and job.usage is None and job.request is None and job.livemode is None
    assert job.deadline_at is None


@pytest.mark.parametrize("text", ["2026-01-26T09:36:16.288Z", "2026-01-26T09:36:16Z", "2026-01-26T09:36:16.288123Z"])
def test_times_parse_as_aware_utc(text):
    from imagesaas._models import parse_time

    t = parse_time(text)
    assert t.tzinfo is not None and t.utcoffset() == dt.timedelta(0)
