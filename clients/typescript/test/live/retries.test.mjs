// Retries against the stack: a 429 waited out after its Retry-After, and a
// dropped connection on submit retried with the same Idempotency-Key
// without making a second job.
import { test } from "node:test";
import assert from "node:assert/strict";

import { client, dropFirstSubmitProxy, listedIds, live, newTenant, recordingFetch, stallingImageServer } from "./stack.mjs";

test("a submit refused 429 for concurrency is retried after its Retry-After with the same Idempotency-Key", live, async (t) => {
  const stall = await stallingImageServer();
  t.after(() => stall.close());
  const { key } = await newTenant({ rpm: 1000, maxConcurrency: 1 });
  const c = client(key);

  // A holds the tenant's one slot until the stall is released.
  const a = await c.generate({ prompt: "job A holds the slot", mode: "draft", inputImageUrl: stall.url });

  let first429 = null;
  const rec = recordingFetch({
    onResponse(r) {
      if (r.status === 429 && first429 === null) {
        first429 = r;
        stall.release(); // A can now finish and give its slot back
      }
    },
  });
  // Retries to spare: should the machine be slow to finish A, B meets
  // another 429 and waits another Retry-After.
  const cb = client(key, { fetch: rec.fetch, maxRetries: 20 });
  const b = await cb.generate({ prompt: "job B waits for the slot", mode: "draft" });

  assert.equal(b.status, "QUEUED", `B was accepted: ${b.status}`);
  assert.equal(b.replayed, false);
  assert.notEqual(b.jobId, a.jobId);
  const submits = rec.submits();
  assert.ok(first429 !== null, "B's first submit was refused 429");
  assert.equal(submits[0], first429, "the very first submit of B");
  assert.equal(submits.at(-1).status, 202);
  const retryAfter = Number(first429.retryAfter);
  assert.equal(retryAfter, 5, "Retry-After: 5 for the concurrency limit");
  const next = submits[submits.indexOf(first429) + 1];
  const gap = (next.sentAt - first429.answeredAt) / 1000;
  // The client waits Retry-After plus a jitter of at most min(1, 0.1 x Retry-After)
  // (10 ms of slack for timer granularity).
  assert.ok(gap >= retryAfter - 0.01, `the retry came ${gap.toFixed(3)} s after the 429, not before ${retryAfter} s`);
  assert.ok(gap < retryAfter + Math.min(1, 0.1 * retryAfter) + 5, `and not much later (${gap.toFixed(3)} s)`);
  for (const s of submits) {
    if (s !== submits.at(-1)) assert.equal(s.status, 429, "every refused attempt was a 429");
    assert.equal(s.headers.get("idempotency-key"), b.idempotencyKey, "the same Idempotency-Key on every attempt");
  }

  const [doneA, doneB] = await Promise.all([c.jobs.wait(a.jobId, { timeout: 120 }), c.jobs.wait(b.jobId, { timeout: 120 })]);
  assert.equal(doneA.status, "SUCCEEDED");
  assert.equal(doneB.status, "SUCCEEDED");
});

test("a submit whose connection drops after the stack answered is retried and makes one job", live, async (t) => {
  const proxy = await dropFirstSubmitProxy();
  t.after(() => proxy.close());
  const { key } = await newTenant();

  const sub = await client(key, { baseUrl: proxy.url, maxRetries: 3 }).generate({ prompt: "a cat sent twice", mode: "draft" });

  assert.equal(proxy.submits.length, 2, "the proxy forwarded the submit and its retry");
  const [dropped, retried] = proxy.submits;
  assert.equal(dropped.dropped, true);
  assert.equal(dropped.status, 202, "the stack accepted the first submit before the connection dropped");
  assert.equal(JSON.parse(dropped.body).jobId, sub.jobId, "the dropped answer named the same job");
  assert.equal(dropped.idempotencyKey, sub.idempotencyKey);
  assert.equal(retried.idempotencyKey, sub.idempotencyKey, "one Idempotency-Key for both");
  assert.equal(retried.replayed, true, "the retry was a replay");
  assert.equal(sub.replayed, true);

  const ids = await listedIds(client(key));
  assert.deepEqual(ids, [sub.jobId], "the tenant has exactly one job");
});
