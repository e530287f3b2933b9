"""Webhook verification against a delivery the stack signed and sent."""

from __future__ import annotations

import json

import pytest

import live_stack
from imagesaas.webhooks import WebhookVerificationError, verify


def test_a_real_delivery_verifies_and_a_tampered_one_does_not(new_tenant, connect) -> None:
    with live_stack.WebhookReceiver() as receiver:
        tenant = new_tenant(webhook_url=receiver.hook_url)
        assert tenant.webhook_secret and tenant.webhook_secret.startswith("whsec_")
        client = connect(tenant.key)
        job = client.generate(prompt="tell me when it is done", wait=True, timeout=120)
        [delivery] = receiver.wait_for(1)

    assert delivery.path == "/hook"
    event = verify(tenant.webhook_secret, delivery.headers, delivery.body)
    assert event.job_id == job.job_id
    assert event.tenant_id == tenant.tenant_id
    assert event.status == "SUCCEEDED"
    assert event.result_urls == job.result_urls
    assert dict((k.lower(), v) for k, v in delivery.headers)["webhook-id"] == event.event_id

    tampered = json.loads(delivery.body)
    tampered["status"] = "FAILED"
    with pytest.raises(WebhookVerificationError):
        verify(tenant.webhook_secret, delivery.headers, json.dumps(tampered).encode())
    other = new_tenant(webhook_url=receiver.hook_url)
    with pytest.raises(WebhookVerificationError):
        verify(other.webhook_secret, delivery.headers, delivery.body)

    # The stack logged the attempt the receiver answered.
    [logged] = live_stack.until("the attempt in the delivery log", lambda: client.jobs.deliveries(job.job_id))
    assert (logged.event_id, logged.status, logged.http_status) == (event.event_id, "delivered", 200)
