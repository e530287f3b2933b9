// The README's quick start against the local stack, with the dev key.
import { test } from "node:test";
import assert from "node:assert/strict";

import { ImageSaaS } from "../../dist/index.js";
import { BASE_URL, DEV_KEY, PNG_MAGIC, live } from "./stack.mjs";

test("the quick start makes a cat picture with the dev key and its result URL serves a PNG", live, async () => {
  assert.ok(DEV_KEY, "IMAGESAAS_LIVE_DEV_KEY is set");
  const client = new ImageSaaS({ apiKey: DEV_KEY, baseUrl: BASE_URL });
  const job = await client.generate({ prompt: "A cute cat", mode: "draft", wait: true });

  assert.equal(job.status, "SUCCEEDED");
  assert.match(job.jobId, /\S/);
  assert.equal(job.submission.jobId, job.jobId);
  assert.ok(job.resultUrls.length > 0, "resultUrls is not empty");
  assert.equal(job.images.length, job.resultUrls.length);
  const [image] = job.images;
  assert.ok(Number.isInteger(image.width) && image.width > 0, `width ${image.width}`);
  assert.ok(Number.isInteger(image.height) && image.height > 0, `height ${image.height}`);
  assert.equal(Math.max(image.width, image.height), 1024, "draft renders 1K");
  assert.equal(job.usage?.images, 1);
  assert.equal(job.error, null);

  const res = await fetch(job.resultUrls[0]);
  assert.equal(res.status, 200, `GET ${job.resultUrls[0]}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.deepEqual(bytes.subarray(0, 8), new Uint8Array(PNG_MAGIC), "the PNG signature");
  assert.equal(bytes.length, image.bytes, "as many bytes as images[0].bytes says");
});
