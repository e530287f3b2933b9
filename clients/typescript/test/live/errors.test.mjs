// Every error class the stack can produce, each with its code, HTTP status,
// message and request id. UNKNOWN_ERROR (500) cannot be provoked on a healthy
// stack; the fake suite (test/client.test.mjs) covers UnknownError and its
// retries.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  ApiError,
  IdempotencyKeyReusedError,
  InvalidApiKeyError,
  InvalidRequestError,
  InvalidStateError,
  JobNotFoundError,
  NotFoundError,
  QuotaExceededError,
  RateLimitError,
} from "../../dist/index.js";
import { BASE_URL, client, live, newTenant, recordingFetch } from "./stack.mjs";

/** `promise` rejects with an `ApiError` of class `cls`, code `code` and HTTP `status`, with a message and a request id. */
async function rejectsWith(promise, cls, code, status, { requestId = true } = {}) {
  const err = await promise.then(
    (v) => assert.fail(`expected ${cls.name}, got ${JSON.stringify(v)}`),
    (e) => e,
  );
  assert.ok(err instanceof cls, `${cls.name}, not ${err?.name}: ${err}`);
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, code);
  assert.equal(err.status, status);
  assert.equal(typeof err.message, "string");
  assert.ok(err.message.trim().length > 0, "a message");
  if (requestId) {
    assert.equal(typeof err.requestId, "string", `a request id (X-Request-Id) on the ${status} ${code}`);
    assert.ok(err.requestId.length > 0);
  }
  return err;
}

test("an empty prompt is an InvalidRequestError (400 INVALID_REQUEST)", live, async () => {
  const { key } = await newTenant();
  const err = await rejectsWith(client(key).generate({ prompt: "" }), InvalidRequestError, "INVALID_REQUEST", 400);
  assert.match(err.message, /prompt/);
});

test("an unknown key is an InvalidApiKeyError (401 INVALID_API_KEY)", live, async () => {
  const c = client(`img_test_unknown_${crypto.randomUUID().replaceAll("-", "")}`);
  await rejectsWith(c.generate({ prompt: "a cat" }), InvalidApiKeyError, "INVALID_API_KEY", 401);
  await rejectsWith(c.jobs.listPage(), InvalidApiKeyError, "INVALID_API_KEY", 401);
});

test("a submit over the RPM limit is a RateLimitError (429) with a Retry-After", live, async () => {
  const { key } = await newTenant({ rpm: 1 });
  const c = client(key, { maxRetries: 0 });
  await c.generate({ prompt: "the one submit of the minute" });
  // With 1 submit a minute the second submit is refused, unless the clock
  // minute turned between the two: then the third is.
  let err = null;
  for (let i = 0; i < 2 && err === null; i++) {
    err = await c.generate({ prompt: `one too many ${i}` }).then(
      () => null,
      (e) => e,
    );
  }
  assert.ok(err !== null, "a submit was refused");
  await rejectsWith(Promise.reject(err), RateLimitError, "RATE_LIMIT_EXCEEDED", 429);
  assert.ok(err.retryAfter > 0 && err.retryAfter <= 60, `retryAfter ${err.retryAfter}`);
  assert.match(err.message, /per minute/);
  assert.equal(err.rateLimit?.limit, 1);
  assert.equal(err.rateLimit?.remaining, 0);
});

test("a submit over the monthly quota is a QuotaExceededError (429) and is not retried", live, async () => {
  const { key } = await newTenant({ quota: 1, rpm: 1000 });
  const rec = recordingFetch();
  const c = client(key, { fetch: rec.fetch, maxRetries: 3 });
  await c.generate({ prompt: "the one image of the month" });
  assert.equal(rec.submits().length, 1);

  const err = await rejectsWith(c.generate({ prompt: "one image too many" }), QuotaExceededError, "QUOTA_EXCEEDED", 429);
  assert.ok(!(err instanceof RateLimitError), "not a RateLimitError");
  assert.equal(rec.submits().length, 2, "the refused submit was sent once, never retried");
  assert.ok(err.retryAfter > 0, `retryAfter ${err.retryAfter} (to the next UTC month)`);
  assert.equal(err.quota?.limit, 1);
  assert.equal(err.quota?.remaining, 0);
});

test("another tenant's job is a JobNotFoundError (404 JOB_NOT_FOUND)", live, async () => {
  const [owner, other] = await Promise.all([newTenant(), newTenant()]);
  const { jobId } = await client(owner.key).generate({ prompt: "a private cat" });
  const c = client(other.key);
  await rejectsWith(c.jobs.get(jobId), JobNotFoundError, "JOB_NOT_FOUND", 404);
  await rejectsWith(c.jobs.cancel(jobId), JobNotFoundError, "JOB_NOT_FOUND", 404);
  await rejectsWith(c.jobs.wait(jobId, { timeout: 30 }), JobNotFoundError, "JOB_NOT_FOUND", 404);
  const own = await client(owner.key).jobs.get(jobId);
  assert.equal(own.jobId, jobId, "the owner still sees it");
});

test("cancelling a SUCCEEDED job is an InvalidStateError (400 INVALID_STATE)", live, async () => {
  const { key } = await newTenant();
  const c = client(key);
  const job = await c.generate({ prompt: "a finished cat", mode: "draft", wait: true, timeout: 120 });
  assert.equal(job.status, "SUCCEEDED");
  await rejectsWith(c.jobs.cancel(job.jobId), InvalidStateError, "INVALID_STATE", 400);
});

test("an Idempotency-Key reused with another prompt is an IdempotencyKeyReusedError (422)", live, async () => {
  const { key } = await newTenant();
  const c = client(key);
  const idempotencyKey = `ts-live-${crypto.randomUUID()}`;
  const first = await c.generate({ prompt: "a cat", idempotencyKey });
  const again = await c.generate({ prompt: "a cat", idempotencyKey });
  assert.equal(again.jobId, first.jobId, "the same request is a replay");
  assert.equal(again.replayed, true);
  await rejectsWith(
    c.generate({ prompt: "a dog", idempotencyKey }),
    IdempotencyKeyReusedError,
    "IDEMPOTENCY_KEY_REUSED",
    422,
  );
});

test("a base URL with an unknown path prefix is a NotFoundError (404 NOT_FOUND)", live, async () => {
  const { key } = await newTenant();
  const c = client(key, { baseUrl: `${BASE_URL}/nope` });
  const err = await rejectsWith(c.jobs.listPage(), NotFoundError, "NOT_FOUND", 404, { requestId: false });
  await rejectsWith(c.generate({ prompt: "a lost cat" }), NotFoundError, "NOT_FOUND", 404, { requestId: false });
  // No function answered (the local router's stand-in for API Gateway's
  // own 404), so there is no X-Request-Id (docs/API.md, "Every response").
  assert.equal(err.requestId, null);
});
