// verifyWebhook against the test vector of shared/src/webhooks/signing.rs
// (the Standard Webhooks reference libraries' vector), and tampered inputs.
import { test } from "node:test";
import assert from "node:assert/strict";

import { verifyWebhook, verifyWebhookSignature, signWebhook, WebhookVerificationError, ImageSaaSError } from "../dist/index.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const vectorHeaders = { "webhook-id": ID, "webhook-timestamp": String(TS), "webhook-signature": SIG };

test("signWebhook reproduces the signing.rs test vector", async () => {
  assert.equal(await signWebhook(SECRET, ID, TS, BODY), SIG);
  assert.equal(await signWebhook(SECRET, ID, TS, new TextEncoder().encode(BODY)), SIG);
});

test("the test vector verifies (signature level), from every header shape", async () => {
  assert.equal(await verifyWebhookSignature(SECRET, vectorHeaders, BODY, { now: TS }), ID);
  assert.equal(await verifyWebhookSignature(SECRET, new Headers(vectorHeaders), BODY, { now: TS + 299 }), ID);
  assert.equal(await verifyWebhookSignature(SECRET, Object.entries(vectorHeaders), new TextEncoder().encode(BODY), { now: TS }), ID);
  const upper = { "Webhook-Id": ID, "Webhook-Timestamp": String(TS), "Webhook-Signature": SIG };
  assert.equal(await verifyWebhookSignature(SECRET, upper, BODY, { now: TS }), ID);
  // Several signatures (a secret rotation): one v1 match is enough; other versions are skipped.
  const rotated = { ...vectorHeaders, "webhook-signature": `v1a,xyz v1,${"A".repeat(44)} ${SIG}` };
  assert.equal(await verifyWebhookSignature(SECRET, rotated, BODY, { now: TS }), ID);
});

async function rejects(promise, pattern) {
  const err = await promise.catch((e) => e);
  assert.ok(err instanceof WebhookVerificationError, `expected a WebhookVerificationError, got ${err}`);
  assert.ok(err instanceof ImageSaaSError);
  if (pattern) assert.match(err.message, pattern);
}

test("tampered inputs are refused", async () => {
  await rejects(verifyWebhookSignature(SECRET, vectorHeaders, BODY.replace("2432232314", "2432232315"), { now: TS }), /no matching/);
  await rejects(verifyWebhookSignature(SECRET, { ...vectorHeaders, "webhook-id": ID + "x" }, BODY, { now: TS }), /no matching/);
  await rejects(verifyWebhookSignature(SECRET, { ...vectorHeaders, "webhook-timestamp": String(TS + 1) }, BODY, { now: TS }), /no matching/);
  await rejects(verifyWebhookSignature(SECRET, { ...vectorHeaders, "webhook-signature": SIG.replace("g0h", "g0i") }, BODY, { now: TS }), /no matching/);
  await rejects(verifyWebhookSignature(SECRET, { ...vectorHeaders, "webhook-signature": SIG.replace("v1,", "v2,") }, BODY, { now: TS }), /no matching/);
  await rejects(verifyWebhookSignature("whsec_" + btoa("another secret"), vectorHeaders, BODY, { now: TS }), /no matching/);
  await rejects(verifyWebhookSignature("whsec_not base64!", vectorHeaders, BODY, { now: TS }), /secret/);
});

test("a stale or future timestamp is refused (5 minute tolerance)", async () => {
  await rejects(verifyWebhookSignature(SECRET, vectorHeaders, BODY, { now: TS + 301 }), /too old/);
  await rejects(verifyWebhookSignature(SECRET, vectorHeaders, BODY, { now: TS - 301 }), /too new/);
  await rejects(verifyWebhookSignature(SECRET, vectorHeaders, BODY), /too old/); // now: the real clock, years later
  await rejects(verifyWebhookSignature(SECRET, { ...vectorHeaders, "webhook-timestamp": "16142653.30" }, BODY, { now: TS }), /integer/);
});

test("missing or doubled headers are refused", async () => {
  for (const name of Object.keys(vectorHeaders)) {
    const h = { ...vectorHeaders };
    delete h[name];
    await rejects(verifyWebhookSignature(SECRET, h, BODY, { now: TS }), /missing/);
  }
  await rejects(verifyWebhookSignature(SECRET, { ...vectorHeaders, "webhook-id": [ID, "other"] }, BODY, { now: TS }), /twice/);
});

test("verifyWebhook returns the event of a body the service signed now", async () => {
  const secret = "whsec_" + btoa("a tenant secret of 32 bytes!!!!!");
  const event = {
    eventId: "evt_01",
    jobId: "cmjob000001",
    tenantId: "t_01",
    status: "SUCCEEDED",
    resultUrls: ["https://cdn.example/0.png"],
    error: null,
    livemode: false,
    timestamp: 1764547200000,
  };
  const body = JSON.stringify(event);
  const ts = Math.floor(Date.now() / 1000);
  const headers = { "webhook-id": "evt_01", "webhook-timestamp": String(ts), "webhook-signature": await signWebhook(secret, "evt_01", ts, body) };
  const got = await verifyWebhook(secret, headers, body);
  assert.equal(got.jobId, "cmjob000001");
  assert.equal(got.status, "SUCCEEDED");
  assert.deepEqual(got.resultUrls, event.resultUrls);

  // The vector's body is signed correctly but is not a webhook event.
  await rejects(verifyWebhook(SECRET, vectorHeaders, BODY, { now: TS }), /not a webhook event/);
  // A webhook-id that is not the body's eventId.
  const other = { ...headers, "webhook-id": "evt_02", "webhook-signature": await signWebhook(secret, "evt_02", ts, body) };
  await rejects(verifyWebhook(secret, other, body), /eventId/);
});
