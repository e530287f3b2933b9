// Paging over 120 jobs: the iterator follows the cursors, newest first.
import { test } from "node:test";
import assert from "node:assert/strict";

import { client, live, newTenant, recordingFetch, until } from "./stack.mjs";

const N = 120;
const PAGE = 25;

test("listing 120 jobs 25 a page yields each job once, newest first, in 5 requests, and usage counts them", live, async () => {
  const { key } = await newTenant({ rpm: 100000, maxConcurrency: 1000 });
  const c = client(key);

  const submitted = [];
  for (let batch = 0; batch < N; batch += 20) {
    const subs = await Promise.all(
      Array.from({ length: Math.min(20, N - batch) }, (_, i) => c.generate({ prompt: `paging cat ${batch + i}`, mode: "draft" })),
    );
    submitted.push(...subs.map((s) => s.jobId));
  }
  assert.equal(new Set(submitted).size, N, "120 distinct jobs");

  const rec = recordingFetch();
  const lister = client(key, { fetch: rec.fetch });
  const items = [];
  for await (const item of lister.jobs.list({ limit: PAGE })) items.push(item);

  const ids = items.map((i) => i.id);
  assert.equal(ids.length, N, "120 items");
  assert.equal(new Set(ids).size, N, "each job once");
  assert.deepEqual([...ids].sort(), [...submitted].sort(), "exactly the jobs submitted");
  for (let i = 1; i < items.length; i++) {
    assert.ok(
      Date.parse(items[i - 1].createdAt) >= Date.parse(items[i].createdAt),
      `newest first: item ${i - 1} (${items[i - 1].createdAt}) before item ${i} (${items[i].createdAt})`,
    );
  }
  const pages = rec.calls.filter((r) => r.method === "GET" && r.path === "/v1/jobs");
  assert.equal(pages.length, Math.ceil(N / PAGE), "5 pages, 5 requests");
  assert.equal(rec.calls.length, pages.length, "and nothing else");
  for (const [i, p] of pages.entries()) {
    const q = new URLSearchParams(p.search);
    assert.equal(q.get("limit"), String(PAGE));
    assert.equal(q.has("cursor"), i > 0, "a cursor on every page but the first");
    assert.equal(p.status, 200);
  }

  const succeeded = await until(
    async () => {
      const done = [];
      for await (const item of c.jobs.list({ status: "SUCCEEDED", limit: 100 })) done.push(item.id);
      return done.length === N ? done : null;
    },
    { timeoutMs: 180_000, intervalMs: 1000, what: "all 120 jobs to be SUCCEEDED" },
  );
  assert.deepEqual([...succeeded].sort(), [...submitted].sort(), "the SUCCEEDED listing has exactly the 120 jobs");

  const today = items[0].createdAt.slice(0, 10);
  const usage = await c.usage({ from: today, to: today });
  assert.equal(usage.livemode, false);
  assert.equal(usage.days.length, 1);
  assert.equal(usage.days[0].date, today);
  assert.deepEqual({ jobs: usage.days[0].draft.jobs, images: usage.days[0].draft.images }, { jobs: N, images: N });
  assert.deepEqual({ jobs: usage.total.jobs, images: usage.total.images }, { jobs: N, images: N });
});
