// A typed usage example: `npm run typecheck` (tsc --noEmit, the pinned
// typescript) checks it against the built declarations in dist/, imported
// by the package's own name as a user would. It is not run.
import {
  ImageSaaS,
  ApiError,
  RateLimitError,
  QuotaExceededError,
  WaitTimeoutError,
  verifyWebhook,
  type Job,
  type JobListItem,
  type Submission,
  type WebhookEvent,
} from "imagesaas";

export async function example(): Promise<void> {
  const client = new ImageSaaS({ apiKey: "img_test_dev_123456789", baseUrl: "http://localhost:3001", maxRetries: 3, maxRetryWait: 60 });

  // wait: true gives a Job, no wait a Submission: the overloads say which.
  const job: Job = await client.generate({ prompt: "A cute cat", mode: "draft", aspectRatio: "16:9", wait: true, timeout: 120 });
  const urls: string[] = job.resultUrls;
  const cost: number | undefined = job.usage?.costUsd;
  const sub: Submission = await client.generate({ prompt: "later", numberOfImages: 2, idempotencyKey: "order-42" });
  const key: string = sub.idempotencyKey;

  // @ts-expect-error: not an aspect ratio of the contract
  await client.generate({ prompt: "x", aspectRatio: "7:5" });
  // @ts-expect-error: the options are camelCase
  await client.generate({ prompt: "x", aspect_ratio: "1:1" });

  for await (const item of client.jobs.list({ status: "SUCCEEDED", limit: 100 })) {
    const i: JobListItem = item;
    void i.createdAt;
  }
  // @ts-expect-error: not a status
  client.jobs.list({ status: "DONE" });

  const again: Job = await client.jobs.get(job.jobId);
  await client.jobs.wait(again.jobId, { timeout: 30 });
  const c = await client.jobs.cancel(sub.jobId);
  const canceled: "CANCELED" = c.status;
  const deliveries = await client.jobs.deliveries(job.jobId);
  const delivered: boolean = deliveries.every((d) => d.status === "delivered");
  await client.jobs.redeliver(job.jobId);
  const usage = await client.usage({ from: "2026-12-01", to: new Date() });
  const images: number = usage.total.images;

  try {
    await client.generate({ prompt: "x" });
  } catch (e) {
    if (e instanceof QuotaExceededError) {
      const seconds: number | null = e.retryAfter;
      void seconds;
    } else if (e instanceof RateLimitError || e instanceof ApiError) {
      const code: string | null = e.code;
      const status: number = e.status;
      const requestId: string | null = e.requestId;
      void [code, status, requestId];
    } else if (e instanceof WaitTimeoutError) {
      const last: Job = e.job;
      void last;
    }
  }

  const event: WebhookEvent = await verifyWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", new Headers(), "{}");
  const byNode: WebhookEvent = await verifyWebhook("whsec_x", { "webhook-id": "a", "set-cookie": ["a", "b"] }, new Uint8Array());
  void [urls, cost, key, canceled, delivered, images, event.jobId, byNode.status];
}
