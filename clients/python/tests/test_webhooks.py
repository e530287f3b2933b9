"""imagesaas.webhooks against the reference `standardwebhooks` package (pinned), both directions.

The service signs in shared/src/webhooks/signing.rs (the test vector below
is its unit test's) and sends from delivery.rs: `webhook-id` (the eventId),
`webhook-timestamp` (epoch seconds) and `webhook-signature: v1,<base64>`
over `{id}.{timestamp}.{body}` with the compact JSON body.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time

import httpx
import pytest
import standardwebhooks

from imagesaas import WebhookEvent
from imagesaas.webhooks import WebhookVerificationError, sign, verify, verify_signature

# shared/src/webhooks/signing.rs: signature_matches_the_standard_webhooks_test_vector
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def new_secret() -> str:
    """As shared::webhooks::new_secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@pytest.fixture
def event_body(openapi) -> bytes:
    ex = openapi["webhooks"]["jobEnded"]["post"]["requestBody"]["content"]["application/json"]["examples"]["succeeded"]["value"]
    # serde_json::to_string: compact, in the struct's field order (the example's).
    return json.dumps(ex, separators=(",", ":"), ensure_ascii=False).encode()


def service_headers(secret: str, body: bytes, *, ts: int = None, msg_id: str = None) -> dict:
    ts = int(time.time()) if ts is None else ts
    msg_id = msg_id or json.loads(body)["eventId"]
    return {
        "content-type": "application/json",
        "user-agent": "ImageSaaS-Webhooks/0.1.0",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


def reference_verify(secret, headers, body):
    return standardwebhooks.Webhook(secret).verify(body, dict(headers))


def test_the_services_test_vector():
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    ref = standardwebhooks.Webhook(VECTOR_SECRET).sign(VECTOR_ID, dt.datetime.fromtimestamp(VECTOR_TS, tz=dt.timezone.utc), VECTOR_BODY)
    assert ref == VECTOR_SIG
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS), "webhook-signature": VECTOR_SIG}
    assert verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TS + 10) == VECTOR_ID


def test_what_the_reference_signs_verify_accepts(event_body):
    secret = new_secret()
    wh = standardwebhooks.Webhook(secret)
    now = dt.datetime.now(tz=dt.timezone.utc)
    msg_id = json.loads(event_body)["eventId"]
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": wh.sign(msg_id, now, event_body.decode()),
    }
    event = verify(secret, headers, event_body)
    assert isinstance(event, WebhookEvent) and event.event_id == msg_id and event.status == "SUCCEEDED"
    assert len(event.images) == 2 and event.usage.images == 2 and event.request.output_format == "jpeg"
    assert event.raw == json.loads(event_body)


def test_what_verify_accepts_the_reference_accepts_too(event_body):
    secret = new_secret()
    headers = service_headers(secret, event_body)
    assert reference_verify(secret, headers, event_body) == json.loads(event_body)
    assert verify(secret, headers, event_body).job_id == json.loads(event_body)["jobId"]


def _tamper(case, secret, headers, body):
    h = dict(headers)
    now = int(time.time())
    if case == "body changed":
        body = body.replace(b"SUCCEEDED", b"FAILED\x20\x20\x20")
    elif case == "body re-serialised":
        body = json.dumps(json.loads(body), indent=1).encode()
    elif case == "wrong secret":
        secret = new_secret()
    elif case == "id changed":
        h["webhook-id"] = "evt_000000000000000000000000"
    elif case == "timestamp changed":
        h["webhook-timestamp"] = str(int(h["webhook-timestamp"]) + 1)
    elif case == "stale (6 minutes old)":
        h = service_headers(secret, body, ts=now - 360)
    elif case == "from the future (6 minutes)":
        h = service_headers(secret, body, ts=now + 360)
    elif case == "timestamp not a number":
        h["webhook-timestamp"] = "yesterday"
    elif case == "no signature header":
        del h["webhook-signature"]
    elif case == "no id header":
        del h["webhook-id"]
    elif case == "no timestamp header":
        del h["webhook-timestamp"]
    elif case == "signature of another version only":
        h["webhook-signature"] = h["webhook-signature"].replace("v1,", "v2,")
    elif case == "empty signature":
        h["webhook-signature"] = "v1,"
    return secret, h, body


TAMPERED = [
    "body changed",
    "body re-serialised",
    "wrong secret",
    "id changed",
    "timestamp changed",
    "stale (6 minutes old)",
    "from the future (6 minutes)",
    "timestamp not a number",
    "no signature header",
    "no id header",
    "no timestamp header",
    "signature of another version only",
    "empty signature",
]


@pytest.mark.parametrize("case", TAMPERED)
def test_both_reject_a_bad_or_stale_request(event_body, case):
    secret = new_secret()
    secret2, headers, body = _tamper(case, secret, service_headers(secret, event_body), event_body)
    with pytest.raises(WebhookVerificationError):
        verify(secret2, headers, body)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        reference_verify(secret2, headers, body)


@pytest.mark.parametrize("age", [-290, -60, 0, 60, 290])
def test_both_accept_within_the_5_minute_tolerance(event_body, age):
    secret = new_secret()
    headers = service_headers(secret, event_body, ts=int(time.time()) + age)
    verify(secret, headers, event_body)
    reference_verify(secret, headers, event_body)


def test_tolerance_and_now_can_be_given():
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS), "webhook-signature": VECTOR_SIG}
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TS + 301)
    verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TS + 301, tolerance=600)


def test_several_signatures_during_a_secret_rotation(event_body):
    old, new = new_secret(), new_secret()
    h = service_headers(new, event_body)
    h["webhook-signature"] = " ".join(
        [sign(old, h["webhook-id"], int(h["webhook-timestamp"]), event_body), "v1a,c29tZXRoaW5n", h["webhook-signature"]]
    )
    verify(new, h, event_body)
    verify(old, h, event_body)
    h_ref = dict(h)
    h_ref["webhook-signature"] = h["webhook-signature"].replace("v1a,c29tZXRoaW5n ", "")
    reference_verify(new, h_ref, event_body)
    reference_verify(old, h_ref, event_body)


def test_headers_in_any_case_and_any_container(event_body):
    secret = new_secret()
    h = service_headers(secret, event_body)
    title = {k.title(): v for k, v in h.items()}
    assert verify(secret, title, event_body).event_id
    assert verify(secret, httpx.Headers(title), event_body).event_id
    assert verify(secret, list(title.items()), event_body).event_id
    assert verify(secret, h, event_body.decode()).event_id  # a str body: its UTF-8


def test_a_secret_without_its_prefix_and_bytes_secrets(event_body):
    secret = new_secret()
    h = service_headers(secret, event_body)
    bare = secret[len("whsec_"):]
    verify(bare, h, event_body)
    reference_verify(bare, h, event_body)
    verify(base64.b64decode(bare), h, event_body)
    with pytest.raises(WebhookVerificationError):
        verify("whsec_", h, event_body)


def test_the_webhook_id_must_be_the_events_id(event_body):
    # The service sends the eventId as webhook-id; a signed body under another id is refused.
    secret = new_secret()
    h = service_headers(secret, event_body, msg_id="evt_ffffffffffffffffffffffff")
    verify_signature(secret, h, event_body)  # the signature itself is good
    with pytest.raises(WebhookVerificationError, match="eventId"):
        verify(secret, h, event_body)


def test_a_signed_body_that_is_not_an_event(event_body):
    secret = new_secret()
    body = b'{"test": 2432232314}'
    h = service_headers(secret, body, msg_id="msg_1")
    with pytest.raises(WebhookVerificationError, match="not a webhook event"):
        verify(secret, h, body)
