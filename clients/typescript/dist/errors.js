/**
 * Errors: one `ApiError` subclass per error code of the contract.
 *
 * Every error answer of the API has the body `{"error": "CODE", "message": "..."}`;
 * `apiErrorFromResponse` picks the class by `error`. An answer without that
 * shape (API Gateway's own `404 {"message":"Not Found"}` or `429 {"message":
 * "Too Many Requests"}` in front of a deployed stack) is classed by its HTTP
 * status, with `code` `null`.
 */
import { responseMeta } from "./models.js";
/** Base of every error this package throws. */
export class ImageSaaSError extends Error {
    constructor(message, options) {
        super(message, options);
        this.name = new.target.name;
    }
}
/**
 * The API answered with an error: `code` (the contract's `error`, or `null`
 * when the answer had no error body), `message`, `status` (HTTP), `requestId`
 * (`X-Request-Id`: quote it to support), `retryAfter` (seconds, or `null`).
 */
export class ApiError extends ImageSaaSError {
    /** The code of the class; an instance's `code` is what the answer named. */
    static code = null;
    code;
    status;
    requestId;
    retryAfter;
    meta;
    body;
    constructor(message, init = {}) {
        super(message);
        this.code = init.code !== undefined ? init.code : new.target.code;
        this.status = init.status ?? 0;
        this.requestId = init.requestId ?? null;
        this.retryAfter = init.retryAfter ?? null;
        this.meta = init.meta ?? null;
        this.body = init.body;
    }
    get rateLimit() {
        return this.meta?.rateLimit ?? null;
    }
    get quota() {
        return this.meta?.quota ?? null;
    }
    toString() {
        let s = `${this.name}: ${this.status} ${this.code ?? "HTTP error"}: ${this.message}`;
        if (this.requestId)
            s += ` (request id ${this.requestId})`;
        return s;
    }
}
/** 400 `INVALID_REQUEST`: a bad body, field, header or query parameter (the message names it). */
export class InvalidRequestError extends ApiError {
    static code = "INVALID_REQUEST";
}
/** 401 `INVALID_API_KEY`: a missing, malformed, unknown or revoked key. */
export class InvalidApiKeyError extends ApiError {
    static code = "INVALID_API_KEY";
}
/**
 * 429 `RATE_LIMIT_EXCEEDED`: over the RPM or concurrency limit. The client
 * retries these itself when `Retry-After` is at most `maxRetryWait`.
 */
export class RateLimitError extends ApiError {
    static code = "RATE_LIMIT_EXCEEDED";
}
/**
 * 429 `QUOTA_EXCEEDED`: the month's image quota has no room. Never retried
 * (`retryAfter` is the seconds to the next UTC month), and not a
 * `RateLimitError` on purpose, so code that sleeps on a `RateLimitError`'s
 * `retryAfter` does not sleep for a month.
 */
export class QuotaExceededError extends ApiError {
    static code = "QUOTA_EXCEEDED";
}
/** 404 `JOB_NOT_FOUND`: no such job in the caller's tenant and mode. */
export class JobNotFoundError extends ApiError {
    static code = "JOB_NOT_FOUND";
}
/** 400 `INVALID_STATE`: the job's status does not allow the operation. */
export class InvalidStateError extends ApiError {
    static code = "INVALID_STATE";
}
/** 422 `IDEMPOTENCY_KEY_REUSED`: the key was used with a different request. */
export class IdempotencyKeyReusedError extends ApiError {
    static code = "IDEMPOTENCY_KEY_REUSED";
}
/** 404 `NOT_FOUND`: no such route (a wrong `baseUrl`, or an older deployment). */
export class NotFoundError extends ApiError {
    static code = "NOT_FOUND";
}
/** 500 `UNKNOWN_ERROR` (and any other 5xx): retried, thrown when the client gives up. */
export class UnknownError extends ApiError {
    static code = "UNKNOWN_ERROR";
}
export const ERROR_CLASSES = Object.freeze(Object.fromEntries([
    InvalidRequestError,
    InvalidApiKeyError,
    RateLimitError,
    QuotaExceededError,
    JobNotFoundError,
    InvalidStateError,
    IdempotencyKeyReusedError,
    NotFoundError,
    UnknownError,
].map((c) => [c.code, c])));
function classForStatus(status) {
    if (status === 401)
        return InvalidApiKeyError;
    if (status === 404)
        return NotFoundError;
    if (status === 429)
        return RateLimitError;
    if (status === 422)
        return IdempotencyKeyReusedError;
    if (status >= 500)
        return UnknownError;
    if (status === 400)
        return InvalidRequestError;
    return ApiError;
}
/** `Retry-After` in seconds: delta-seconds (the contract's form) or an HTTP date; `null` otherwise. */
export function parseRetryAfter(value, now = Date.now()) {
    if (value == null)
        return null;
    const t = value.trim();
    if (t === "")
        return null;
    let seconds;
    if (/^\d+(\.\d+)?$/.test(t)) {
        seconds = Number(t);
    }
    else {
        const when = Date.parse(t);
        if (Number.isNaN(when))
            return null;
        seconds = (when - now) / 1000;
    }
    return Number.isFinite(seconds) ? Math.max(0, seconds) : null;
}
export function apiErrorFromResponse(status, headers, text) {
    const meta = responseMeta(status, headers);
    let body = undefined;
    try {
        body = text ? JSON.parse(text) : undefined;
    }
    catch {
        body = undefined;
    }
    let code = null;
    let message = null;
    if (body !== null && typeof body === "object" && !Array.isArray(body)) {
        const b = body;
        if (typeof b.error === "string")
            code = b.error;
        if (typeof b.message === "string")
            message = b.message;
    }
    if (message === null)
        message = text ? text.slice(0, 500) : `HTTP ${status}`;
    const cls = (code !== null ? ERROR_CLASSES[code] : undefined) ?? classForStatus(status);
    return new cls(message, {
        code,
        status,
        requestId: meta.requestId,
        retryAfter: parseRetryAfter(headers.get("retry-after")),
        meta,
        body,
    });
}
/** The API could not be reached (after the retries): no answer at all. `cause` is fetch's error. */
export class APIConnectionError extends ImageSaaSError {
}
/** A request timed out (after the retries). */
export class APITimeoutError extends APIConnectionError {
}
/**
 * `wait` ran out of `timeout` before the job ended. `job` is the last view
 * read (not terminal): the job goes on, and `jobs.wait(job.jobId)` waits again.
 */
export class WaitTimeoutError extends ImageSaaSError {
    job;
    constructor(message, job) {
        super(message);
        this.job = job;
    }
}
/** A missing header, a malformed or stale timestamp, or no matching signature. */
export class WebhookVerificationError extends ImageSaaSError {
}
