// Waiting: a wait that runs out throws WaitTimeoutError with the job as last
// read, and the job goes on; jobs.wait() then sees it end.
import { test } from "node:test";
import assert from "node:assert/strict";

import { WaitTimeoutError } from "../../dist/index.js";
import { client, live, newTenant, stallingImageServer } from "./stack.mjs";

const NON_TERMINAL = ["QUEUED", "RUNNING", "RETRYING"];

test("a wait that runs out throws WaitTimeoutError with the running job, and jobs.wait sees it succeed later", live, async (t) => {
  const stall = await stallingImageServer();
  t.after(() => stall.close());
  const { key } = await newTenant();
  const c = client(key);

  const started = performance.now();
  const err = await c
    .generate({ prompt: "a held-up cat", mode: "draft", inputImageUrl: stall.url, wait: true, timeout: 2 })
    .then(
      (job) => assert.fail(`the wait should have timed out, got ${job.status}`),
      (e) => e,
    );
  const waitedMs = performance.now() - started;
  assert.ok(err instanceof WaitTimeoutError, `a WaitTimeoutError, not ${err}`);
  assert.ok(!stall.released, "the input image was still held when the wait gave up");
  assert.ok(waitedMs >= 1980, `the wait took its whole timeout (${Math.round(waitedMs)} ms)`);
  assert.ok(NON_TERMINAL.includes(err.job.status), `the last view is not terminal: ${err.job.status}`);
  assert.match(err.job.jobId, /\S/);
  assert.equal(err.job.usage, null);
  assert.deepEqual(err.job.resultUrls, []);
  assert.match(err.message, new RegExp(err.job.jobId));

  stall.release();
  const job = await c.jobs.wait(err.job.jobId, { timeout: 120 });
  assert.equal(job.status, "SUCCEEDED");
  assert.equal(job.jobId, err.job.jobId);
  assert.equal(job.request?.inputImages, 1);
  assert.ok(stall.hits >= 1, "the worker fetched the input image");
});
