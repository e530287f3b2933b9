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
import { WebhookVerificationError } from "./errors.js";
import { webCrypto } from "./runtime.js";
export const SECRET_PREFIX = "whsec_";
/** Seconds: 5 minutes either way, as Standard Webhooks. */
export const DEFAULT_TOLERANCE = 300;
const encoder = new TextEncoder();
function b64decode(text, strict) {
    if (strict && !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
        throw new Error("not base64");
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++)
        out[i] = bin.charCodeAt(i);
    return out;
}
function b64encode(bytes) {
    let bin = "";
    for (const b of bytes)
        bin += String.fromCharCode(b);
    return btoa(bin);
}
function keyBytes(secret) {
    let key;
    if (typeof secret === "string") {
        const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
        try {
            key = b64decode(text, true);
        }
        catch {
            throw new WebhookVerificationError("the webhook secret is not `whsec_` followed by base64");
        }
    }
    else {
        key = secret;
    }
    if (key.length === 0)
        throw new WebhookVerificationError("the webhook secret is empty");
    return key;
}
function bodyBytes(body) {
    if (typeof body === "string")
        return encoder.encode(body);
    if (body instanceof Uint8Array)
        return body;
    if (body instanceof ArrayBuffer)
        return new Uint8Array(body);
    throw new TypeError("body must be the raw request body: a string, Uint8Array or ArrayBuffer");
}
function signedContent(msgId, timestamp, body) {
    const prefix = encoder.encode(`${msgId}.${timestamp}.`);
    const b = bodyBytes(body);
    const out = new Uint8Array(prefix.length + b.length);
    out.set(prefix, 0);
    out.set(b, prefix.length);
    return out;
}
async function hmacKey(secret, usage) {
    const c = await webCrypto();
    return c.subtle.importKey("raw", keyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}
/** `v1,<base64 HMAC-SHA256 of "{msgId}.{timestamp}.{body}">`: what the service sends. */
export async function signWebhook(secret, msgId, timestamp, body) {
    const c = await webCrypto();
    const key = await hmacKey(secret, "sign");
    const mac = await c.subtle.sign("HMAC", key, signedContent(msgId, Math.trunc(timestamp), body));
    return "v1," + b64encode(new Uint8Array(mac));
}
function header(headers, name) {
    if (typeof Headers !== "undefined" && headers instanceof Headers) {
        const v = headers.get(name);
        return v === null ? undefined : v;
    }
    let pairs;
    if (Symbol.iterator in headers) {
        pairs = headers;
    }
    else {
        pairs = Object.entries(headers);
    }
    let found;
    for (const [k, raw] of pairs) {
        if (k.toLowerCase() !== name || raw === undefined)
            continue;
        for (const v of Array.isArray(raw) ? raw : [raw]) {
            if (found !== undefined && found !== v)
                throw new WebhookVerificationError(`the header ${name} is given twice`);
            found = v;
        }
    }
    return found;
}
/** Check the signature and the timestamp; resolve to the `webhook-id`. Rejects with `WebhookVerificationError`. */
export async function verifyWebhookSignature(secret, headers, body, options = {}) {
    const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
    const msgId = header(headers, "webhook-id");
    const timestamp = header(headers, "webhook-timestamp");
    const signatures = header(headers, "webhook-signature");
    if (!msgId || !timestamp || !signatures) {
        throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header");
    }
    const tsText = timestamp.trim();
    if (!/^\d+$/.test(tsText))
        throw new WebhookVerificationError("webhook-timestamp is not an integer of epoch seconds");
    const ts = Number(tsText);
    const now = options.now ?? Date.now() / 1000;
    if (ts < now - tolerance) {
        throw new WebhookVerificationError("webhook-timestamp is too old (more than the tolerance in the past)");
    }
    if (ts > now + tolerance) {
        throw new WebhookVerificationError("webhook-timestamp is too new (more than the tolerance in the future)");
    }
    const c = await webCrypto();
    const key = await hmacKey(secret, "verify");
    const content = signedContent(msgId, ts, body);
    // Space-separated `version,signature` pairs (several during a secret
    // rotation); only v1 is HMAC-SHA256, other versions are skipped.
    for (const candidate of signatures.split(/\s+/)) {
        const comma = candidate.indexOf(",");
        if (comma < 0)
            continue;
        const version = candidate.slice(0, comma);
        const value = candidate.slice(comma + 1);
        if (version !== "v1" || !value)
            continue;
        let given;
        try {
            given = b64decode(value, true);
        }
        catch {
            continue;
        }
        // subtle.verify compares in constant time.
        if (await c.subtle.verify("HMAC", key, given, content))
            return msgId;
    }
    throw new WebhookVerificationError("no matching v1 signature");
}
/**
 * Verify a webhook request and resolve to its event; rejects with
 * `WebhookVerificationError` on a missing header, a bad or stale (5 minute
 * tolerance) signature, or a signed body that is not a webhook event.
 * `headers`: a `Headers`, Node's `req.headers`, or `[name, value]` pairs;
 * `body`: the raw request body.
 */
export async function verifyWebhook(secret, headers, body, options = {}) {
    const msgId = await verifyWebhookSignature(secret, headers, body, options);
    let data;
    try {
        data = JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(bodyBytes(body)));
    }
    catch (e) {
        throw new WebhookVerificationError(`the signed body is not JSON: ${e.message}`);
    }
    const d = data;
    if (d === null ||
        typeof d !== "object" ||
        typeof d.eventId !== "string" ||
        typeof d.jobId !== "string" ||
        typeof d.tenantId !== "string" ||
        typeof d.status !== "string" ||
        typeof d.timestamp !== "number") {
        throw new WebhookVerificationError("the signed body is not a webhook event");
    }
    if (d.eventId !== msgId)
        throw new WebhookVerificationError("webhook-id is not the body's eventId");
    return {
        ...d,
        resultUrls: Array.isArray(d.resultUrls) ? d.resultUrls : [],
        error: d.error ?? null,
    };
}
