"""The fake itself answers with exactly the keys docs/openapi.yaml requires (its schemas are closed)."""

from __future__ import annotations

import json

import httpx

from support import schema
from fake_api import DEV_KEY


def keys(openapi, name):
    s = schema(openapi, name)
    assert s.get("additionalProperties") is False
    return set(s["required"])


def answer(fake, method, path, **kw):
    req = httpx.Request(method, "http://fake" + path, headers={"Authorization": f"Bearer {DEV_KEY}"}, **kw)
    resp = fake.handle(req)
    return resp.status_code, json.loads(resp.content), resp.headers


def test_the_fakes_answers_have_exactly_the_schemas_keys(fake, openapi):
    fake.reads_until_done = None
    (ok,) = fake.plant(1, status="SUCCEEDED")
    (failed,) = fake.plant(1, status="FAILED")
    fake.plant(1)
    fake.deliveries[failed.id] = [
        {"eventId": "evt_3f1a9c0b7d2e4f6a8b1c3d5e", "attempt": 1, "url": "https://hooks.acme.example/imagesaas",
         "at": "2026-01-26T09:36:25.301Z", "status": "failed", "httpStatus": 503, "error": "the receiver answered HTTP 503",
         "durationMs": 211, "nextAttemptAt": "2026-01-26T09:36:30.512Z"}
    ]

    st, body, h = answer(fake, "POST", "/v1/images/generate", json={"prompt": "x", "outputFormat": "jpeg"})
    assert st == 202 and set(body) == keys(openapi, "SubmitResponse")
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-request-id", "x-content-type-options"} <= set(h)
    queued = body["jobId"]

    st, body, _ = answer(fake, "GET", f"/v1/jobs/{queued}")
    assert st == 200 and set(body) == keys(openapi, "Job") and set(body["request"]) == keys(openapi, "JobRequest")
    st, body, _ = answer(fake, "GET", f"/v1/jobs/{failed.id}")
    assert set(body["usage"]) == keys(openapi, "Usage") and set(body["error"]) == keys(openapi, "JobError")
    st, body, _ = answer(fake, "GET", f"/v1/jobs/{ok.id}")
    assert set(body["images"][0]) == keys(openapi, "ResultImage")

    st, body, _ = answer(fake, "GET", "/v1/jobs?limit=2")
    assert set(body) == keys(openapi, "JobList") and set(body["items"][0]) == keys(openapi, "JobListItem")
    st, body, _ = answer(fake, "GET", f"/v1/jobs/{failed.id}/deliveries")
    assert set(body) == keys(openapi, "DeliveryList") and set(body["items"][0]) == keys(openapi, "Delivery")
    st, body, _ = answer(fake, "POST", f"/v1/jobs/{failed.id}/deliveries")
    assert st == 202 and set(body) == keys(openapi, "Redelivery")
    st, body, _ = answer(fake, "GET", "/v1/usage")
    assert set(body) == keys(openapi, "UsageReport")
    assert set(body["days"][0]) == keys(openapi, "UsageDay") and set(body["total"]) == keys(openapi, "UsageTotals")

    st, body, _ = answer(fake, "POST", "/v1/images/generate", json={"prompt": "y"})
    st, body, _ = answer(fake, "DELETE", f"/v1/jobs/{body['jobId']}")
    assert st == 200 and set(body) == keys(openapi, "CancelResponse")
    st, body, _ = answer(fake, "GET", "/v1/jobs/cmkuz35wf00034rk15ycgzvce")
    assert st == 404 and set(body) == {"error", "message"} and body["error"] in schema(openapi, "ErrorCode")["enum"]
    st, body, _ = answer(fake, "GET", "/health")
    assert set(body) == keys(openapi, "Health")
