/**
 * Typed views of the contract's JSON (docs/API.md, docs/openapi.yaml).
 *
 * The JSON is already camelCase, so the models keep its field names and
 * shapes exactly: a job is what `GET /v1/jobs/{jobId}` answers, plus the
 * `meta` of the HTTP answer (and, on what `generate` returns, the
 * `submission`). Times stay the contract's ISO 8601 strings (`new
 * Date(job.createdAt)` when you need a Date). Fields a 1.0 deployment does
 * not send (`images`, `usage`, `request`, `livemode`, `deadlineAt`) are
 * optional; a field a newer deployment adds is kept as it came.
 */
export declare const JOB_STATUSES: readonly ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "RETRYING", "CANCELED"];
export declare const TERMINAL_STATUSES: ReadonlySet<string>;
export declare const JOB_ERROR_CODES: readonly ["CONTENT_BLOCKED", "INPUT_IMAGE_INVALID", "GENERATION_FAILED", "PROVIDER_UNAVAILABLE", "TIMEOUT"];
export declare const MODES: readonly ["draft", "final"];
export declare const ASPECT_RATIOS: readonly ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
export declare const IMAGE_SIZES: readonly ["1K", "2K", "4K"];
export declare const OUTPUT_FORMATS: readonly ["png", "jpeg", "webp"];
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];
export type Mode = (typeof MODES)[number];
export type AspectRatio = (typeof ASPECT_RATIOS)[number];
export type ImageSize = (typeof IMAGE_SIZES)[number];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch seconds) of a submit answer. */
export interface RateLimit {
    limit: number;
    remaining: number;
    reset: number;
}
/** `X-Quota-Limit`, `-Remaining` and (optional in the 1.1 spec) `-Reset`: only for a tenant with a quota. */
export interface Quota {
    limit: number;
    remaining: number;
    reset: number | null;
}
/** What the HTTP answer said besides its body. */
export interface ResponseMeta {
    status: number;
    requestId: string | null;
    /** Lower-case names. */
    headers: Record<string, string>;
    rateLimit: RateLimit | null;
    quota: Quota | null;
    /** `Idempotent-Replayed: true`. */
    replayed: boolean;
    /** e.g. `wait=25`. */
    preferenceApplied: string | null;
    location: string | null;
}
export interface JobError {
    code: JobErrorCode | string;
    message: string;
}
export interface ResultImage {
    url: string;
    contentType: string;
    width: number;
    height: number;
    bytes: number;
}
export interface Usage {
    images: number;
    providerCalls: number;
    inputTokens: number | null;
    outputTokens: number | null;
    costUsd: number;
}
export interface JobRequest {
    mode: Mode;
    aspectRatio: AspectRatio;
    imageSize: ImageSize;
    numberOfImages: number;
    outputFormat: OutputFormat;
    outputQuality: number | null;
    deadlineSeconds: number | null;
    inputImages: number;
}
/** The answer to a submit that did not wait: `202 {"jobId", "status"}`, and the key that was sent. */
export interface Submission {
    jobId: string;
    status: JobStatus;
    /** The caller's key, or the `crypto.randomUUID()` the client generated. */
    idempotencyKey: string;
    replayed: boolean;
    meta: ResponseMeta;
}
/** The job view of `GET /v1/jobs/{jobId}` (also a waited submit's body). */
export interface Job {
    jobId: string;
    status: JobStatus;
    resultUrls: string[];
    error: JobError | null;
    images: ResultImage[];
    usage: Usage | null;
    request?: JobRequest | null;
    livemode?: boolean;
    createdAt: string;
    updatedAt: string;
    deadlineAt?: string | null;
    meta?: ResponseMeta;
    /** Set on the job `generate({ wait: true })` returns: the submit's answer. */
    submission?: Submission;
    [extra: string]: unknown;
}
/** One entry of `GET /v1/jobs`' `items`. */
export interface JobListItem {
    id: string;
    status: JobStatus;
    prompt: string;
    mode: Mode;
    inputImageUrl: string | null;
    aspectRatio: AspectRatio;
    resultUrls: string[];
    errorCode: JobErrorCode | string | null;
    errorMessage: string | null;
    images?: ResultImage[];
    usage?: Usage | null;
    request?: JobRequest | null;
    livemode?: boolean;
    createdAt: string;
    updatedAt: string;
    deadlineAt?: string | null;
    [extra: string]: unknown;
}
export interface JobPage {
    items: JobListItem[];
    hasMore: boolean;
    nextCursor: string | null;
    meta: ResponseMeta;
}
export interface CancelResult {
    jobId: string;
    status: "CANCELED";
    meta: ResponseMeta;
}
/** One completed webhook attempt of `GET /v1/jobs/{jobId}/deliveries`. */
export interface Delivery {
    eventId: string;
    attempt: number;
    url: string;
    at: string;
    status: "delivered" | "failed";
    httpStatus: number | null;
    error: string | null;
    durationMs: number;
    nextAttemptAt: string | null;
    [extra: string]: unknown;
}
export interface Redelivery {
    eventId: string;
    status: "pending";
    meta: ResponseMeta;
}
export interface UsageTotals {
    jobs: number;
    images: number;
    costUsd: number;
}
export interface UsageDay {
    date: string;
    draft: UsageTotals;
    final: UsageTotals;
}
export interface UsageReport {
    livemode: boolean;
    from: string;
    to: string;
    days: UsageDay[];
    total: UsageTotals;
    meta: ResponseMeta;
}
/** The body of a webhook request (what `verifyWebhook` returns). */
export interface WebhookEvent {
    eventId: string;
    jobId: string;
    tenantId: string;
    status: JobStatus;
    resultUrls: string[];
    error: JobError | null;
    livemode?: boolean;
    images?: ResultImage[];
    usage?: Usage | null;
    request?: JobRequest | null;
    /** Epoch milliseconds. */
    timestamp: number;
    [extra: string]: unknown;
}
/** The options of a submit: only the fields given are sent (`undefined` and `null` are "not given"). */
export interface GenerateBody {
    prompt: string;
    mode?: Mode | null;
    aspectRatio?: AspectRatio | null;
    inputImageUrl?: string | null;
    inputImageUrls?: string[] | null;
    imageSize?: ImageSize | null;
    numberOfImages?: number | null;
    outputFormat?: OutputFormat | null;
    outputQuality?: number | null;
    deadlineSeconds?: number | null;
    webhookUrl?: string | null;
}
export declare function isTerminal(status: string): boolean;
export declare function responseMeta(status: number, headers: Headers): ResponseMeta;
