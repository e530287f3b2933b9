export { ImageSaaS, Jobs, DEFAULT_BASE_URL, MAX_WAIT, generateBody } from "./client.js";
export type { ClientOptions, FetchLike, GenerateOptions, ListOptions, ListPageOptions, UsageOptions } from "./client.js";
export * from "./errors.js";
export * from "./models.js";
export { verifyWebhook, verifyWebhookSignature, signWebhook, SECRET_PREFIX, DEFAULT_TOLERANCE, } from "./webhooks.js";
export type { WebhookHeaders, WebhookBody, VerifyOptions } from "./webhooks.js";
export { VERSION } from "./version.js";
