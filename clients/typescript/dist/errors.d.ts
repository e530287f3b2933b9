/**
 * Errors: one `ApiError` subclass per error code of the contract.
 *
 * Every error answer of the API has the body `{"error": "CODE", "message": "..."}`;
 * `apiErrorFromResponse` picks the class by `error`. An answer without that
 * shape (API Gateway's own `404 {"message":"Not Found"}` or `429 {"message":
 * "Too Many Requests"}` in front of a deployed stack) is classed by its HTTP
 * status, with `code` `null`.
 */
import { type Job, type ResponseMeta, type RateLimit, type Quota } from "./models.js";
/** Base of every error this package throws. */
export declare class ImageSaaSError extends Error {
    constructor(message: string, options?: {
        cause?: unknown;
    });
}
export interface ApiErrorInit {
    code?: string | null;
    status?: number;
    requestId?: string | null;
    retryAfter?: number | null;
    meta?: ResponseMeta | null;
    body?: unknown;
}
/**
 * The API answered with an error: `code` (the contract's `error`, or `null`
 * when the answer had no error body), `message`, `status` (HTTP), `requestId`
 * (`X-Request-Id`: quote it to support), `retryAfter` (seconds, or `null`).
 */
export declare class ApiError extends ImageSaaSError {
    /** The code of the class; an instance's `code` is what the answer named. */
    static readonly code: string | null;
    readonly code: string | null;
    readonly status: number;
    readonly requestId: string | null;
    readonly retryAfter: number | null;
    readonly meta: ResponseMeta | null;
    readonly body: unknown;
    constructor(message: string, init?: ApiErrorInit);
    get rateLimit(): RateLimit | null;
    get quota(): Quota | null;
    toString(): string;
}
/** 400 `INVALID_REQUEST`: a bad body, field, header or query parameter (the message names it). */
export declare class InvalidRequestError extends ApiError {
    static readonly code = "INVALID_REQUEST";
}
/** 401 `INVALID_API_KEY`: a missing, malformed, unknown or revoked key. */
export declare class InvalidApiKeyError extends ApiError {
    static readonly code = "INVALID_API_KEY";
}
/**
 * 429 `RATE_LIMIT_EXCEEDED`: over the RPM or concurrency limit. The client
 * retries these itself when `Retry-After` is at most `maxRetryWait`.
 */
export declare class RateLimitError extends ApiError {
    static readonly code = "RATE_LIMIT_EXCEEDED";
}
/**
 * 429 `QUOTA_EXCEEDED`: the month's image quota has no room. Never retried
 * (`retryAfter` is the seconds to the next UTC month), and not a
 * `RateLimitError` on purpose, so code that sleeps on a `RateLimitError`'s
 * `retryAfter` does not sleep for a month.
 */
export declare class QuotaExceededError extends ApiError {
    static readonly code = "QUOTA_EXCEEDED";
}
/** 404 `JOB_NOT_FOUND`: no such job in the caller's tenant and mode. */
export declare class JobNotFoundError extends ApiError {
    static readonly code = "JOB_NOT_FOUND";
}
/** 400 `INVALID_STATE`: the job's status does not allow the operation. */
export declare class InvalidStateError extends ApiError {
    static readonly code = "INVALID_STATE";
}
/** 422 `IDEMPOTENCY_KEY_REUSED`: the key was used with a different request. */
export declare class IdempotencyKeyReusedError extends ApiError {
    static readonly code = "IDEMPOTENCY_KEY_REUSED";
}
/** 404 `NOT_FOUND`: no such route (a wrong `baseUrl`, or an older deployment). */
export declare class NotFoundError extends ApiError {
    static readonly code = "NOT_FOUND";
}
/** 500 `UNKNOWN_ERROR` (and any other 5xx): retried, thrown when the client gives up. */
export declare class UnknownError extends ApiError {
    static readonly code = "UNKNOWN_ERROR";
}
export declare const ERROR_CLASSES: Readonly<Record<string, typeof ApiError>>;
/** `Retry-After` in seconds: delta-seconds (the contract's form) or an HTTP date; `null` otherwise. */
export declare function parseRetryAfter(value: string | null | undefined, now?: number): number | null;
export declare function apiErrorFromResponse(status: number, headers: Headers, text: string): ApiError;
/** The API could not be reached (after the retries): no answer at all. `cause` is fetch's error. */
export declare class APIConnectionError extends ImageSaaSError {
}
/** A request timed out (after the retries). */
export declare class APITimeoutError extends APIConnectionError {
}
/**
 * `wait` ran out of `timeout` before the job ended. `job` is the last view
 * read (not terminal): the job goes on, and `jobs.wait(job.jobId)` waits again.
 */
export declare class WaitTimeoutError extends ImageSaaSError {
    readonly job: Job;
    constructor(message: string, job: Job);
}
/** A missing header, a malformed or stale timestamp, or no matching signature. */
export declare class WebhookVerificationError extends ImageSaaSError {
}
