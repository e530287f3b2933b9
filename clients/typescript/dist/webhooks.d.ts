/**
 * Webhook verification (Standard Webhooks), as the service signs
 * (shared/src/webhooks/signing.rs): headers `webhook-id` (the `eventId`),
 * `webhook-timestamp` (epoch seconds) and `webhook-signature: v1,<base64
 * HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the base64-decoded
 * part of the tenant secret after `whsec_`. WebCrypto only, so it runs in
 * Node 18+, browsers, Deno, Bun and edge runtimes.
 *
 * Verify the body exactly as received: parsing and re-serialising it changes
 * the bytes and the signature no longer matches.
 */
import type { WebhookEvent } from "./models.js";
export declare const SECRET_PREFIX = "whsec_";
/** Seconds: 5 minutes either way, as Standard Webhooks. */
export declare const DEFAULT_TOLERANCE = 300;
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined> | Iterable<readonly [string, string]>;
export type WebhookBody = string | Uint8Array | ArrayBuffer;
export interface VerifyOptions {
    /** Seconds `webhook-timestamp` may be from now. Default 300. */
    tolerance?: number;
    /** "Now" in epoch seconds (tests). */
    now?: number;
}
/** `v1,<base64 HMAC-SHA256 of "{msgId}.{timestamp}.{body}">`: what the service sends. */
export declare function signWebhook(secret: string | Uint8Array, msgId: string, timestamp: number, body: WebhookBody): Promise<string>;
/** Check the signature and the timestamp; resolve to the `webhook-id`. Rejects with `WebhookVerificationError`. */
export declare function verifyWebhookSignature(secret: string | Uint8Array, headers: WebhookHeaders, body: WebhookBody, options?: VerifyOptions): Promise<string>;
/**
 * Verify a webhook request and resolve to its event; rejects with
 * `WebhookVerificationError` on a missing header, a bad or stale (5 minute
 * tolerance) signature, or a signed body that is not a webhook event.
 * `headers`: a `Headers`, Node's `req.headers`, or `[name, value]` pairs;
 * `body`: the raw request body.
 */
export declare function verifyWebhook(secret: string | Uint8Array, headers: WebhookHeaders, body: WebhookBody, options?: VerifyOptions): Promise<WebhookEvent>;
