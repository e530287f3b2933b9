// The client against the in-process fake (test/fake_api.mjs): no network.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  ImageSaaS,
  ApiError,
  ImageSaaSError,
  APIConnectionError,
  InvalidRequestError,
  InvalidApiKeyError,
  RateLimitError,
  QuotaExceededError,
  JobNotFoundError,
  InvalidStateError,
  IdempotencyKeyReusedError,
  NotFoundError,
  UnknownError,
  WaitTimeoutError,
  ERROR_CLASSES,
} from "../dist/index.js";
import { FakeApi, errorResponse, virtualClock } from "./fake_api.mjs";

function setup(opts = {}) {
  const fake = new FakeApi();
  const clock = virtualClock();
  fake.clock = clock;
  const client = new ImageSaaS({
    apiKey: "img_test_fake",
    baseUrl: "http://fake.test/",
    fetch: fake.fetch,
    sleep: clock.sleep,
    now: clock.now,
    random: () => 0,
    ...opts,
  });
  return { fake, clock, client };
}

const submits = (fake) => fake.requests.filter((r) => r.method === "POST" && r.path === "/v1/images/generate");

test("only the given fields are sent, and every submit carries an Idempotency-Key", async () => {
  const { fake, client } = setup();
  const sub = await client.generate({ prompt: "A cute cat", mode: "draft", aspectRatio: undefined, imageSize: null });
  assert.equal(sub.status, "SUCCEEDED");
  assert.match(sub.jobId, /^cmjob/);
  const [req] = submits(fake);
  assert.deepEqual(req.body, { prompt: "A cute cat", mode: "draft" });
  assert.match(req.headers.get("idempotency-key"), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(sub.idempotencyKey, req.headers.get("idempotency-key"));
  assert.equal(req.headers.get("authorization"), "Bearer img_test_fake");
  assert.equal(req.headers.get("content-type"), "application/json");
  assert.equal(req.headers.get("prefer"), null, "no Prefer without wait");
  assert.deepEqual(sub.meta.rateLimit, { limit: 60, remaining: 59, reset: 1800000000 });

  await client.generate({
    prompt: "all of them",
    mode: "final",
    aspectRatio: "16:9",
    inputImageUrls: ["https://example.com/a.png"],
    imageSize: "4K",
    numberOfImages: 2,
    outputFormat: "webp",
    outputQuality: 80,
    deadlineSeconds: 600,
    webhookUrl: "https://example.com/hook",
    idempotencyKey: "my-key-1",
  });
  const second = submits(fake)[1];
  assert.equal(second.headers.get("idempotency-key"), "my-key-1");
  assert.deepEqual(Object.keys(second.body).sort(), [
    "aspectRatio", "deadlineSeconds", "imageSize", "inputImageUrls", "mode", "numberOfImages",
    "outputFormat", "outputQuality", "prompt", "webhookUrl",
  ]);
  assert.equal(second.body.idempotencyKey, undefined, "call options are not body fields");

  // Two submits without a key get two different keys.
  const third = await client.generate({ prompt: "x" });
  assert.notEqual(third.idempotencyKey, sub.idempotencyKey);
});

test("an unknown option or a bad prompt is a TypeError before any request", async () => {
  const { fake, client } = setup();
  await assert.rejects(client.generate({ prompt: "x", aspect_ratio: "1:1" }), TypeError);
  await assert.rejects(client.generate({ prompt: 42 }), TypeError);
  await assert.rejects(client.generate({ prompt: "x", inputImageUrls: "https://a" }), TypeError);
  assert.equal(fake.requests.length, 0);
});

test("generate with wait: Prefer: wait=25 then ?wait=N long polls until terminal", async () => {
  const { fake, client } = setup();
  fake.pollsToFinish = 3;
  const job = await client.generate({ prompt: "A cat", wait: true, timeout: 120 });
  assert.equal(job.status, "SUCCEEDED");
  assert.equal(job.resultUrls.length, 1);
  assert.equal(job.submission.jobId, job.jobId);
  assert.equal(submits(fake)[0].headers.get("prefer"), "wait=25");
  const polls = fake.requests.filter((r) => r.method === "GET");
  assert.equal(polls.length, 3);
  assert.ok(polls.every((p) => p.path === `/v1/jobs/${job.jobId}` && Number(p.query.wait) >= 1 && Number(p.query.wait) <= 25));
});

test("generate with wait answered terminal at once makes no poll", async () => {
  const { fake, client } = setup();
  const job = await client.generate({ prompt: "quick", wait: true });
  assert.equal(job.status, "SUCCEEDED");
  assert.equal(fake.requests.length, 1);
  assert.equal(job.submission.meta.preferenceApplied, "wait=25");
});

test("wait with a timeout ends in WaitTimeoutError carrying the last view", async () => {
  const { fake, clock, client } = setup();
  fake.pollsToFinish = Infinity;
  const start = clock.t;
  const err = await client.generate({ prompt: "slow", wait: true, timeout: 30 }).catch((e) => e);
  assert.ok(err instanceof WaitTimeoutError, String(err));
  assert.ok(err instanceof ImageSaaSError);
  assert.equal(err.job.status, "RUNNING");
  assert.ok(clock.t - start <= 31, `waited ${clock.t - start}s for a 30 s timeout`);
  const waits = fake.requests.filter((r) => r.method === "GET").map((r) => r.query.wait);
  // Prefer: wait=25 held 25 s, so the one poll left is ?wait=5.
  assert.equal(submits(fake)[0].headers.get("prefer"), "wait=25");
  assert.deepEqual(waits, ["5"]);

  // jobs.wait on the same job, with its own timeout.
  const err2 = await client.jobs.wait(err.job.jobId, { timeout: 3 }).catch((e) => e);
  assert.ok(err2 instanceof WaitTimeoutError);
  fake.pollsToFinish = 0;
  const done = await client.jobs.wait(err.job.jobId, { timeout: 3 });
  assert.equal(done.status, "SUCCEEDED");
  await assert.rejects(client.jobs.wait(err.job.jobId, { timeout: 0 }), RangeError);
});

test("a wait with under a second left reads the job once more at its deadline, not before", async () => {
  // Found by the live suite: a 2 s wait sent `wait=1` (1.99 s left, floored),
  // then gave up at once with almost a second of its timeout left.
  const { fake, clock, client } = setup();
  fake.pollsToFinish = Infinity;
  const start = clock.t;
  const err = await client.generate({ prompt: "slow", wait: true, timeout: 2.5 }).catch((e) => e);
  assert.ok(err instanceof WaitTimeoutError, String(err));
  assert.equal(submits(fake)[0].headers.get("prefer"), "wait=2");
  assert.deepEqual(clock.sleeps, [0.5], "it slept out the half second left");
  const gets = fake.requests.filter((r) => r.method === "GET");
  assert.deepEqual(gets.map((r) => r.query.wait), [undefined], "then one plain read");
  assert.equal(clock.t - start, 2.5, "the wait took its whole timeout");

  // A timeout under a second: one read, at the deadline.
  const before = clock.t;
  const err2 = await client.jobs.wait(err.job.jobId, { timeout: 0.4 }).catch((e) => e);
  assert.ok(err2 instanceof WaitTimeoutError);
  assert.ok(Math.abs(clock.t - before - 0.4) < 1e-9, `waited ${clock.t - before} s for 0.4 s`);
  assert.equal(fake.requests.filter((r) => r.method === "GET").length, 2);
});

test("jobs.list follows cursors over 120 jobs", async () => {
  const { fake, client } = setup();
  for (let i = 0; i < 120; i++) fake.addJob({ prompt: `job ${i}` }, i % 2 ? "SUCCEEDED" : "FAILED");
  const seen = [];
  for await (const item of client.jobs.list({ limit: 50 })) seen.push(item.id);
  assert.equal(seen.length, 120);
  assert.equal(new Set(seen).size, 120);
  assert.equal(seen[0], "cmjob000119", "newest first");
  const pages = fake.requests.filter((r) => r.path === "/v1/jobs");
  assert.deepEqual(pages.map((r) => r.query.cursor), [undefined, "50", "100"]);
  assert.ok(pages.every((r) => r.query.limit === "50"));

  const succeeded = [];
  for await (const item of client.jobs.list({ status: "SUCCEEDED" })) succeeded.push(item);
  assert.equal(succeeded.length, 60);
  assert.ok(succeeded.every((j) => j.status === "SUCCEEDED"));

  const page = await client.jobs.listPage({ limit: 100 });
  assert.equal(page.items.length, 100);
  assert.equal(page.hasMore, true);
  assert.equal(page.nextCursor, "100");
});

test("a cursor returned twice stops the listing", async () => {
  const loop = async () =>
    new Response(JSON.stringify({ items: [], hasMore: true, nextCursor: "same" }), { status: 200 });
  const client = new ImageSaaS({ apiKey: "k", baseUrl: "http://fake.test", fetch: loop });
  const run = async () => {
    for await (const _ of client.jobs.list()) void _;
  };
  await assert.rejects(run(), /twice/);
});

test("jobs.get, cancel, deliveries, redeliver and usage", async () => {
  const { fake, client } = setup();
  const queued = fake.addJob({ prompt: "q" }, "QUEUED");
  fake.pollsToFinish = Infinity;
  const got = await client.jobs.get(queued.id);
  assert.equal(got.jobId, queued.id);
  assert.equal(got.meta.status, 200);
  assert.match(got.meta.requestId, /^req_/);
  const c = await client.jobs.cancel(queued.id);
  assert.deepEqual([c.jobId, c.status], [queued.id, "CANCELED"]);
  const d = await client.jobs.deliveries(queued.id);
  assert.equal(d[0].status, "delivered");
  const r = await client.jobs.redeliver(queued.id);
  assert.equal(r.status, "pending");
  const redeliverReq = fake.requests.at(-1);
  assert.equal(redeliverReq.method, "POST");
  assert.equal(redeliverReq.body, undefined, "redelivery sends no body");
  const u = await client.usage({ from: "2026-12-01", to: new Date(Date.UTC(2026, 11, 31, 23)) });
  assert.deepEqual(fake.requests.at(-1).query, { from: "2026-12-01", to: "2026-12-31" });
  assert.equal(u.total.jobs, 1);
  await client.usage();
  assert.deepEqual(fake.requests.at(-1).query, {}, "no from/to unless given");
});

test("every contract error code is its own ApiError class with code, message, status, requestId", async () => {
  const cases = [
    [400, "INVALID_REQUEST", InvalidRequestError],
    [401, "INVALID_API_KEY", InvalidApiKeyError],
    [404, "JOB_NOT_FOUND", JobNotFoundError],
    [404, "NOT_FOUND", NotFoundError],
    [400, "INVALID_STATE", InvalidStateError],
    [422, "IDEMPOTENCY_KEY_REUSED", IdempotencyKeyReusedError],
    [429, "RATE_LIMIT_EXCEEDED", RateLimitError],
    [429, "QUOTA_EXCEEDED", QuotaExceededError],
    [500, "UNKNOWN_ERROR", UnknownError],
  ];
  assert.equal(Object.keys(ERROR_CLASSES).length, cases.length);
  for (const [status, code, cls] of cases) {
    const { fake, client } = setup({ maxRetries: 0 });
    fake.script.push(errorResponse(status, code, `a ${code}`, { "retry-after": "7" }));
    const err = await client.jobs.get("cmjob000000").catch((e) => e);
    assert.ok(err instanceof cls, `${code}: ${err}`);
    assert.ok(err instanceof ApiError);
    assert.equal(ERROR_CLASSES[code], cls);
    assert.equal(cls.code, code);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    assert.equal(err.message, `a ${code}`);
    assert.match(err.requestId, /^req_/);
    assert.equal(err.retryAfter, 7);
    assert.equal(err.name, cls.name);
  }
  assert.ok(!(new QuotaExceededError("q") instanceof RateLimitError), "a quota error is not a rate-limit error");
});

test("errors from the fake's own routes: a wrong key, an unknown job, a terminal cancel", async () => {
  const { client, fake } = setup();
  await assert.rejects(client.jobs.get("nope"), JobNotFoundError);
  const done = fake.addJob({ prompt: "d" }, "SUCCEEDED");
  await assert.rejects(client.jobs.cancel(done.id), InvalidStateError);
  const bad = new ImageSaaS({ apiKey: "img_test_wrong", baseUrl: "http://fake.test", fetch: fake.fetch });
  await assert.rejects(bad.generate({ prompt: "x" }), InvalidApiKeyError);
});

test("an answer without the contract's error body is classed by status, code null", async () => {
  const { fake, client } = setup({ maxRetries: 0 });
  fake.script.push(new Response(JSON.stringify({ message: "Not Found" }), { status: 404 }));
  const err = await client.jobs.get("x").catch((e) => e);
  assert.ok(err instanceof NotFoundError);
  assert.equal(err.code, null);
  fake.script.push(new Response("<html>bad gateway</html>", { status: 502 }));
  const err2 = await client.jobs.get("x").catch((e) => e);
  assert.ok(err2 instanceof UnknownError);
  fake.script.push(new Response("not json", { status: 200 }));
  const err3 = await client.jobs.get("x").catch((e) => e);
  assert.equal(err3.constructor, ApiError);
  fake.script.push(new Response(JSON.stringify({ hello: 1 }), { status: 200 }));
  await assert.rejects(client.jobs.get("x"), /contract does not describe/);
});

test("a 429 is retried after Retry-After, with the same Idempotency-Key", async () => {
  const { fake, clock, client } = setup();
  fake.script.push(errorResponse(429, "RATE_LIMIT_EXCEEDED", "slow down", { "retry-after": "2" }));
  const sub = await client.generate({ prompt: "after a 429" });
  assert.equal(sub.status, "SUCCEEDED");
  assert.deepEqual(clock.sleeps, [2], "slept exactly Retry-After (random() is 0)");
  const s = submits(fake);
  assert.equal(s.length, 2);
  assert.equal(s[0].headers.get("idempotency-key"), s[1].headers.get("idempotency-key"));
  assert.equal(fake.jobs.length, 1);
});

test("a Retry-After above maxRetryWait is thrown at once", async () => {
  const { fake, clock, client } = setup({ maxRetryWait: 10 });
  fake.script.push(errorResponse(429, "RATE_LIMIT_EXCEEDED", "slow down", { "retry-after": "11" }));
  const err = await client.generate({ prompt: "x" }).catch((e) => e);
  assert.ok(err instanceof RateLimitError);
  assert.equal(err.retryAfter, 11);
  assert.deepEqual(clock.sleeps, []);
  assert.equal(submits(fake).length, 1);
});

test("QUOTA_EXCEEDED is never retried", async () => {
  const { fake, clock, client } = setup();
  fake.script.push(errorResponse(429, "QUOTA_EXCEEDED", "quota", { "retry-after": "3", "x-quota-limit": "100", "x-quota-remaining": "0" }));
  const err = await client.generate({ prompt: "x" }).catch((e) => e);
  assert.ok(err instanceof QuotaExceededError);
  assert.equal(err.retryAfter, 3);
  assert.deepEqual(err.quota, { limit: 100, remaining: 0, reset: null });
  assert.deepEqual(clock.sleeps, []);
  assert.equal(submits(fake).length, 1);
  assert.equal(fake.jobs.length, 0);
});

test("429s past maxRetries are thrown; 5xx are retried with backoff", async () => {
  const { fake, clock, client } = setup({ maxRetries: 2 });
  for (let i = 0; i < 3; i++) fake.script.push(errorResponse(429, "RATE_LIMIT_EXCEEDED", "no", { "retry-after": "1" }));
  await assert.rejects(client.generate({ prompt: "x" }), RateLimitError);
  assert.equal(submits(fake).length, 3);
  clock.sleeps.length = 0;
  fake.script.push(errorResponse(500, "UNKNOWN_ERROR", "oops"), errorResponse(503, "UNKNOWN_ERROR", "oops"));
  const job = await client.jobs.get(fake.addJob({ prompt: "p" }, "SUCCEEDED").id);
  assert.equal(job.status, "SUCCEEDED");
  assert.deepEqual(clock.sleeps, [0.25, 0.5], "0.5 x base x 2^attempt with random() 0");
  // 4xx other than 429 are not retried.
  fake.script.push(errorResponse(400, "INVALID_REQUEST", "bad"));
  await assert.rejects(client.generate({ prompt: "x" }), InvalidRequestError);
});

test("a dropped connection on submit is retried with the same Idempotency-Key and makes one job", async () => {
  const { fake, client } = setup();
  // The first attempt reaches the server and creates the job, then the
  // connection drops before the answer; the second never reaches it.
  fake.script.push("drop-after", "drop");
  const sub = await client.generate({ prompt: "dropped", mode: "draft" });
  const s = submits(fake);
  assert.equal(s.length, 3);
  const keys = new Set(s.map((r) => r.headers.get("idempotency-key")));
  assert.equal(keys.size, 1, "one key on every attempt");
  assert.equal(fake.jobs.length, 1, "one job for three attempts");
  assert.equal(sub.jobId, fake.jobs[0].id);
  assert.equal(sub.replayed, true, "the answer is the replay of the first attempt");
});

test("a connection that stays down ends in APIConnectionError after maxRetries", async () => {
  const { fake, client } = setup({ maxRetries: 2 });
  fake.script.push("drop", "drop", "drop");
  const err = await client.generate({ prompt: "x" }).catch((e) => e);
  assert.ok(err instanceof APIConnectionError, String(err));
  assert.ok(err.cause instanceof TypeError);
  assert.equal(submits(fake).length, 3);
});

test("the API key and base URL come from the environment", async () => {
  const fake = new FakeApi();
  process.env.IMAGESAAS_API_KEY = "img_test_fake";
  process.env.IMAGESAAS_BASE_URL = "http://env.test";
  try {
    const client = new ImageSaaS({ fetch: fake.fetch });
    assert.equal(client.baseUrl, "http://env.test");
    await client.generate({ prompt: "env" });
    assert.equal(fake.requests[0].headers.get("authorization"), "Bearer img_test_fake");
  } finally {
    delete process.env.IMAGESAAS_API_KEY;
    delete process.env.IMAGESAAS_BASE_URL;
  }
  assert.throws(() => new ImageSaaS({ fetch: fake.fetch }), /no API key/);
});
