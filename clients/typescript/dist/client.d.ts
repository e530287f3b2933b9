/**
 * The client: request building, retries, the idempotency key, the waiting
 * loop and the paging, mirroring clients/python/src/imagesaas/_core.py.
 *
 * Durations are in seconds throughout (`timeout`, `maxRetryWait`,
 * `retryAfter`), as the contract's `Prefer: wait=N`, `?wait=N` and
 * `Retry-After` are.
 */
import { type CancelResult, type Delivery, type GenerateBody, type Job, type JobListItem, type JobPage, type JobStatus, type Redelivery, type ResponseMeta, type Submission, type UsageReport } from "./models.js";
export declare const DEFAULT_BASE_URL = "http://localhost:3001";
/** The contract's longest `Prefer: wait` / `?wait=N`. */
export declare const MAX_WAIT = 25;
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
export interface ClientOptions {
    /** Default: `IMAGESAAS_API_KEY` (Node). Required one way or the other. */
    apiKey?: string;
    /** Default: `IMAGESAAS_BASE_URL` (Node), else `http://localhost:3001` (`make dev`). */
    baseUrl?: string;
    /** Retries after the first attempt (429, 5xx, dropped connections). Default 3. */
    maxRetries?: number;
    /** The longest `Retry-After` (seconds) honoured; a longer one is thrown at once. Default 60. */
    maxRetryWait?: number;
    /** Seconds for each HTTP request (a waiting one gets its wait more). Default 30. */
    timeout?: number;
    /** Seconds `wait: true` / `jobs.wait()` wait when no `timeout` is given. Default 300. */
    waitTimeout?: number;
    /** The shortest gap, in seconds, between two polls of a job. Default 1. */
    pollInterval?: number;
    /** First backoff step and its cap, seconds. Defaults 0.5 and 8. */
    backoffBase?: number;
    backoffMax?: number;
    /** Extra headers on every request. */
    headers?: Record<string, string>;
    /** Default: the global `fetch`. */
    fetch?: FetchLike;
    /** For tests: how to sleep `seconds`, a monotonic clock in seconds, and a random number in [0, 1). */
    sleep?: (seconds: number) => Promise<void>;
    now?: () => number;
    random?: () => number;
}
export interface GenerateOptions extends GenerateBody {
    /** Sent as `Idempotency-Key`; default a fresh `crypto.randomUUID()` (the same on every retry). */
    idempotencyKey?: string;
    /** Wait for the job to end (`Prefer: wait`, then `GET /v1/jobs/{id}?wait=N`). */
    wait?: boolean;
    /** Seconds the wait may take (default the client's `waitTimeout`); a `WaitTimeoutError` after. */
    timeout?: number;
}
export interface ListOptions {
    status?: JobStatus;
    /** The page size (`limit`, 1 to 100); the iterator follows every page. */
    limit?: number;
}
export interface ListPageOptions extends ListOptions {
    cursor?: string | null;
}
export interface UsageOptions {
    /** A UTC day, `YYYY-MM-DD` (a `Date` is taken as its UTC day). */
    from?: string | Date;
    to?: string | Date;
}
interface RequestSpec {
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string;
    timeout: number;
}
interface Outcome {
    status: number;
    headers: Headers;
    text: string;
}
/** The submit's JSON: only the fields given (`undefined` and `null` are "not given", as `null` is to the API). */
export declare function generateBody(options: GenerateBody): Record<string, unknown>;
export declare class ImageSaaS {
    readonly baseUrl: string;
    readonly maxRetries: number;
    readonly maxRetryWait: number;
    readonly timeout: number;
    readonly waitTimeout: number;
    readonly pollInterval: number;
    readonly jobs: Jobs;
    private readonly apiKey;
    private readonly backoffBase;
    private readonly backoffMax;
    private readonly extraHeaders;
    private readonly fetchImpl;
    /** @internal */ readonly sleep: (seconds: number) => Promise<void>;
    /** @internal */ readonly now: () => number;
    private readonly random;
    constructor(options?: ClientOptions);
    private baseHeaders;
    private url;
    private spec;
    private backoff;
    /** Seconds to wait before the next attempt (`null`: no retry) and the error to throw otherwise. */
    private decide;
    private attempt;
    /**
     * Send a request, retrying 429 (not QUOTA_EXCEEDED), 5xx and dropped
     * connections. `make(attempt)` builds each attempt (the same idempotency
     * key every time). No retry sleeps past `deadline` (a `now()` value).
     */
    private send;
    /** @internal */
    request(spec: RequestSpec, deadline?: number): Promise<[Record<string, unknown>, ResponseMeta, Outcome]>;
    private parse;
    /** @internal A 2xx body without the contract's fields is an `ApiError`, not a `TypeError` later. */
    check(ok: boolean, what: string, meta: ResponseMeta, data: unknown): void;
    /** @internal */
    toJob(data: Record<string, unknown>, meta: ResponseMeta): Job;
    /** @internal */
    resolveTimeout(timeout: number | undefined): number;
    /** The N of `wait=N` that ends by `deadline`; `null` when under a second is left. */
    private waitSeconds;
    /** @internal `GET /v1/jobs/{jobId}`, or a long poll of up to `wait` seconds. */
    getJob(jobId: string, wait?: number | null, deadline?: number): Promise<Job>;
    /**
     * @internal Long-poll until the job is terminal; `WaitTimeoutError` at
     * `deadline`. Each poll is `?wait=N` with N the whole seconds left (at most
     * 25); with under a second left, one last plain read at the deadline (not
     * before it: a 2 s wait whose `wait=1` poll ends with 0.9 s left must not
     * give up then). Polls are at least `pollInterval` apart, so a deployment
     * that ignores `wait` is not hammered.
     */
    waitFor(jobId: string, deadline: number): Promise<Job>;
    /**
     * `POST /v1/images/generate`. Without `wait`, the `Submission`; with
     * `wait: true`, the terminal `Job` (or a `WaitTimeoutError` after `timeout`
     * seconds). Every attempt carries the same `Idempotency-Key`, so a retried
     * submit (a dropped connection, a 5xx, a 429) never makes a second job.
     */
    generate(options: GenerateOptions & {
        wait: true;
    }): Promise<Job>;
    generate(options: GenerateOptions & {
        wait?: false | undefined;
    }): Promise<Submission>;
    generate(options: GenerateOptions): Promise<Job | Submission>;
    /** `GET /v1/usage` for the UTC days `from`..`to` (the API's defaults when not given). */
    usage(options?: UsageOptions): Promise<UsageReport>;
    /** `GET /health` (no key sent). */
    health(): Promise<Record<string, unknown>>;
    /** @internal */
    specFor(method: string, path: string, params?: [string, string][]): RequestSpec;
}
export declare class Jobs {
    private readonly client;
    constructor(client: ImageSaaS);
    /** `GET /v1/jobs/{jobId}`. */
    get(jobId: string): Promise<Job>;
    /** Wait until the job is terminal; `WaitTimeoutError` after `timeout` seconds (default the client's `waitTimeout`). */
    wait(jobId: string, options?: {
        timeout?: number;
    }): Promise<Job>;
    /** `DELETE /v1/jobs/{jobId}`: `INVALID_STATE` when the job is already terminal. */
    cancel(jobId: string): Promise<CancelResult>;
    /** One page of `GET /v1/jobs`. */
    listPage(options?: ListPageOptions): Promise<JobPage>;
    /** Every job, newest first, following `nextCursor` page by page (`limit` is the page size). */
    list(options?: ListOptions): AsyncGenerator<JobListItem, void, undefined>;
    /** `GET /v1/jobs/{jobId}/deliveries`: the webhook attempts of the job. */
    deliveries(jobId: string): Promise<Delivery[]>;
    /** `POST /v1/jobs/{jobId}/deliveries`: send the job's webhook event again (no body, as the contract allows). */
    redeliver(jobId: string): Promise<Redelivery>;
}
export {};
