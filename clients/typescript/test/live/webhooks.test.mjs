// A real signed delivery from the stack, verified with verifyWebhook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import { WebhookVerificationError, verifyWebhook, verifyWebhookSignature } from "../../dist/index.js";
import { client, live, newTenant, webhookReceiver } from "./stack.mjs";

test("a webhook the stack delivers verifies with the tenant's secret, and not tampered or with another secret", live, async (t) => {
  const receiver = await webhookReceiver();
  t.after(() => receiver.close());
  const { key, webhookSecret } = await newTenant({ webhookUrl: receiver.url });
  assert.match(webhookSecret, /^whsec_/);

  const { jobId } = await client(key).generate({ prompt: "a cat that rings the bell", mode: "draft" });
  const delivery = await receiver.waitFor((r) => r.body.includes(jobId), {
    timeoutMs: 120_000,
    what: `the webhook of job ${jobId}`,
  });

  assert.equal(delivery.method, "POST");
  assert.equal(delivery.url, "/hook");
  assert.match(delivery.headers["content-type"], /^application\/json/);
  const event = await verifyWebhook(webhookSecret, delivery.headers, delivery.body);
  assert.equal(event.jobId, jobId);
  assert.equal(event.status, "SUCCEEDED");
  assert.equal(event.eventId, delivery.headers["webhook-id"]);
  assert.equal(event.livemode, false);
  assert.equal(event.error, null);
  assert.ok(event.resultUrls.length > 0);
  // The same delivery as a string body and as a Headers object.
  const asHeaders = new Headers(Object.entries(delivery.headers));
  assert.equal((await verifyWebhook(webhookSecret, asHeaders, delivery.body.toString("utf8"))).eventId, event.eventId);
  assert.equal(await verifyWebhookSignature(webhookSecret, delivery.headers, delivery.body), event.eventId);

  const tampered = Buffer.from(delivery.body.toString("utf8").replace('"SUCCEEDED"', '"FAILED"'));
  assert.notDeepEqual(tampered, delivery.body);
  await assert.rejects(verifyWebhook(webhookSecret, delivery.headers, tampered), WebhookVerificationError);
  const otherSecret = "whsec_" + randomBytes(32).toString("base64");
  await assert.rejects(verifyWebhook(otherSecret, delivery.headers, delivery.body), WebhookVerificationError);
});
