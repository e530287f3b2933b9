"""What goes on the wire: only the fields the caller gives, in the contract's names and headers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest

from support import BASE_URL
from fake_api import DEV_KEY
from imagesaas import ImageSaaS, ImageSaaSError, InvalidRequestError, JobNotFoundError, Submission, data_url

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4EaABRAwQCgAljgUBqTNxyAAAAABJRU5ErkJggg=="
)


def test_a_bare_generate_sends_only_the_prompt(client, fake):
    sub = client.generate("A cute cat")
    assert isinstance(sub, Submission) and sub.status == "QUEUED"
    (req,) = fake.submits()
    assert req.json() == {"prompt": "A cute cat"}
    assert req.headers["content-type"] == "application/json"
    assert "prefer" not in req.headers


OPTIONS = [
    (dict(mode="draft"), {"mode": "draft"}),
    (dict(aspect_ratio="16:9"), {"aspectRatio": "16:9"}),
    (dict(input_image_url="https://images.example.com/fox.png"), {"inputImageUrl": "https://images.example.com/fox.png"}),
    (
        dict(input_image_urls=("https://images.example.com/fox.png", "https://images.example.com/forest.jpg")),
        {"inputImageUrls": ["https://images.example.com/fox.png", "https://images.example.com/forest.jpg"]},
    ),
    (dict(image_size="4K"), {"imageSize": "4K"}),
    (dict(number_of_images=3), {"numberOfImages": 3}),
    (dict(output_format="webp"), {"outputFormat": "webp"}),
    (dict(output_format="jpeg", output_quality=80), {"outputFormat": "jpeg", "outputQuality": 80}),
    (dict(deadline_seconds=600), {"deadlineSeconds": 600}),
    (dict(webhook_url="https://hooks.example.com/imagesaas/job-42"), {"webhookUrl": "https://hooks.example.com/imagesaas/job-42"}),
]


@pytest.mark.parametrize("kwargs,sent", OPTIONS, ids=[next(iter(k)) if len(k) == 1 else "+".join(k) for k, _ in OPTIONS])
def test_each_option_alone_is_sent_in_its_contract_name(client, fake, kwargs, sent):
    client.generate("A lighthouse", **kwargs)
    assert fake.submits()[-1].json() == {"prompt": "A lighthouse", **sent}


def test_all_options_together_and_the_job_records_them(client, fake):
    client.generate(
        "The same fox, as a watercolor",
        mode="final",
        aspect_ratio="21:9",
        input_image_urls=["https://images.example.com/fox.png"],
        image_size="2K",
        number_of_images=2,
        output_format="webp",
        output_quality=70,
        deadline_seconds=86400,
        webhook_url="https://hooks.example.com/x",
    )
    body = fake.submits()[-1].json()
    assert set(body) == {
        "prompt", "mode", "aspectRatio", "inputImageUrls", "imageSize", "numberOfImages",
        "outputFormat", "outputQuality", "deadlineSeconds", "webhookUrl",
    }
    job = client.jobs.get(next(iter(fake.jobs)))
    assert job.request.number_of_images == 2 and job.request.output_quality == 70
    assert job.request.input_images == 1 and job.request.deadline_seconds == 86400
    assert job.deadline_at == job.created_at + dt.timedelta(seconds=86400)


def test_none_means_not_given(client, fake):
    client.generate("A cat", mode=None, aspect_ratio=None, number_of_images=None, output_quality=None)
    assert fake.submits()[-1].json() == {"prompt": "A cat"}


def test_data_urls_go_as_given_and_data_url_builds_them(client, fake, tmp_path):
    url = data_url(PNG_1PX)
    assert url.startswith("data:image/png;base64,iVBOR")
    p = tmp_path / "in.png"
    p.write_bytes(PNG_1PX)
    assert data_url(p) == url == data_url(str(p))
    client.generate("A sketch", input_image_url=url)
    client.generate("Two", input_image_urls=[url, "https://images.example.com/b.jpg"])
    a, b = fake.submits()
    assert a.json()["inputImageUrl"] == url
    assert b.json()["inputImageUrls"] == [url, "https://images.example.com/b.jpg"]
    # The list shows only the type of a data: input, never the image.
    items = list(client.jobs.list())
    assert [i.input_image_url for i in items] == [None, "data:image/png;base64,…"]
    with pytest.raises(ValueError):
        data_url(b"not an image")
    assert data_url(b"RIFF\0\0\0\0WEBPVP8 ").startswith("data:image/webp;base64,")


def test_unicode_prompts_are_sent_as_utf8_json(client, fake):
    client.generate("Un chat mignon 🐱 sur un canapé")
    raw = fake.submits()[-1].body
    assert "🐱".encode() in raw and json.loads(raw)["prompt"] == "Un chat mignon 🐱 sur un canapé"


def test_wrong_types_fail_before_sending(client, fake):
    with pytest.raises(TypeError):
        client.generate("x", input_image_urls="https://images.example.com/a.png")
    with pytest.raises(TypeError):
        client.generate(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.jobs.get("")
    assert fake.requests == []


def test_every_submit_carries_a_fresh_uuid4_idempotency_key(client, fake):
    a = client.generate("one")
    b = client.generate("two")
    ka, kb = (r.headers["idempotency-key"] for r in fake.submits())
    assert uuid.UUID(ka).version == 4 and uuid.UUID(kb).version == 4 and ka != kb
    assert (a.idempotency_key, b.idempotency_key) == (ka, kb)


def test_the_callers_idempotency_key_is_sent_and_a_repeat_is_a_replay(client, fake):
    a = client.generate("A cat", idempotency_key="order-1234")
    b = client.generate("A cat", idempotency_key="order-1234")
    assert [r.headers["idempotency-key"] for r in fake.submits()] == ["order-1234", "order-1234"]
    assert a.job_id == b.job_id and not a.replayed and b.replayed
    assert len(fake.jobs) == 1


def test_auth_and_user_agent_headers(client, fake):
    client.jobs.list_page()
    h = fake.requests[-1].headers
    assert h["authorization"] == f"Bearer {DEV_KEY}"
    assert h["user-agent"].startswith("imagesaas-python/")
    assert h["accept"] == "application/json"
    assert "content-type" not in h and "idempotency-key" not in h


def test_rate_limit_and_quota_headers_are_exposed_on_the_submission(client, fake):
    fake.quota = (1000, 990)
    sub = client.generate("A cat", number_of_images=4)
    assert sub.rate_limit.limit == 60 and sub.rate_limit.remaining == 59
    assert sub.rate_limit.reset_at.tzinfo is not None
    assert (sub.quota.limit, sub.quota.remaining) == (1000, 6)
    assert sub.quota.reset_at == dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    assert sub.request_id and sub.request_id.startswith("req-")


def test_no_quota_headers_no_quota(client, fake):
    assert client.generate("A cat").quota is None


def test_query_parameters_only_when_given(client, fake):
    client.jobs.list_page()
    with pytest.raises(InvalidRequestError, match="cursor"):
        client.jobs.list_page("FAILED", limit=10, cursor="abc")
    client.usage()
    client.usage(from_=dt.date(2026, 12, 1), to="2026-12-31")
    client.jobs.get(fake.plant(1)[0].id)
    client.jobs.get(next(iter(fake.jobs)), wait=5)
    got = [(r.path, r.params) for r in fake.requests]
    assert got[0] == ("/v1/jobs", [])
    assert got[1] == ("/v1/jobs", [("status", "FAILED"), ("limit", "10"), ("cursor", "abc")])
    assert got[2] == ("/v1/usage", [])
    assert got[3] == ("/v1/usage", [("from", "2026-12-01"), ("to", "2026-12-31")])
    assert got[4][1] == [] and got[5][1] == [("wait", "5")]
    with pytest.raises(TypeError):
        client.usage(from_=dt.datetime(2026, 12, 1))


def test_job_ids_are_one_path_segment(client, fake):
    with pytest.raises(JobNotFoundError):
        client.jobs.get("../usage")
    assert fake.requests[-1].path == "/v1/jobs/..%2Fusage"
    with pytest.raises(JobNotFoundError):
        client.jobs.cancel("a/b?c")
    assert fake.requests[-1].path == "/v1/jobs/a%2Fb%3Fc"


def test_redeliver_sends_no_body_and_deliveries_route(client, fake):
    (job,) = fake.plant(1)
    fake.deliveries[job.id] = [
        {"eventId": "evt_3f1a9c0b7d2e4f6a8b1c3d5e", "attempt": 1, "url": "https://hooks.acme.example/imagesaas",
         "at": "2026-01-26T09:36:25.301Z", "status": "delivered", "httpStatus": 200, "error": None,
         "durationMs": 98, "nextAttemptAt": None}
    ]
    r = client.jobs.redeliver(job.id)
    assert r.status == "pending" and r.event_id.startswith("evt_")
    post = fake.requests[-1]
    assert (post.method, post.path, post.body) == ("POST", f"/v1/jobs/{job.id}/deliveries", None)
    assert "content-type" not in post.headers
    (d,) = client.jobs.deliveries(job.id)
    assert d.delivered and d.http_status == 200


def test_cancel(client, fake):
    sub = client.generate("A cat")
    c = client.jobs.cancel(sub.job_id)
    assert (c.job_id, c.status) == (sub.job_id, "CANCELED")
    assert fake.requests[-1].method == "DELETE"


def test_api_key_and_base_url_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("IMAGESAAS_API_KEY", DEV_KEY)
    monkeypatch.setenv("IMAGESAAS_BASE_URL", "http://env.example:3001/")
    with ImageSaaS(transport=fake.transport) as c:
        c.jobs.list_page()
    assert fake.requests[-1].headers["authorization"] == f"Bearer {DEV_KEY}"
    monkeypatch.delenv("IMAGESAAS_API_KEY")
    with pytest.raises(ImageSaaSError, match="IMAGESAAS_API_KEY"):
        ImageSaaS(transport=fake.transport)


def test_base_url_is_used_and_defaults_to_the_local_stack(fake, monkeypatch):
    seen = []
    import httpx

    def handler(request):
        seen.append(str(request.url))
        if request.url.path.startswith("/prod/"):
            return httpx.Response(200, json={"items": [], "hasMore": False, "nextCursor": None})
        return fake.handle(request)

    monkeypatch.delenv("IMAGESAAS_BASE_URL", raising=False)
    with ImageSaaS(api_key=DEV_KEY, transport=httpx.MockTransport(handler)) as c:
        c.health()
    with ImageSaaS(api_key=DEV_KEY, base_url=BASE_URL + "/prod/", transport=httpx.MockTransport(handler)) as c:
        c.jobs.list_page()
    assert seen == ["http://localhost:3001/health", BASE_URL + "/prod/v1/jobs"]


def test_health_needs_no_key(client, fake):
    assert client.health()["status"] == "ok"
    assert "authorization" not in fake.requests[-1].headers


def test_quota_headers_without_reset_still_parse():
    from imagesaas import Quota

    q = Quota.from_headers({"x-quota-limit": "10", "x-quota-remaining": "3"})
    assert q == Quota(10, 3, None) and q.reset_at is None
    assert Quota.from_headers({"x-quota-limit": "10"}) is None
