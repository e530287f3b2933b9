/**
 * The client: request building, retries, the idempotency key, the waiting
 * loop and the paging, mirroring clients/python/src/imagesaas/_core.py.
 *
 * Durations are in seconds throughout (`timeout`, `maxRetryWait`,
 * `retryAfter`), as the contract's `Prefer: wait=N`, `?wait=N` and
 * `Retry-After` are.
 */

import {
  APIConnectionError,
  APITimeoutError,
  ApiError,
  ImageSaaSError,
  QuotaExceededError,
  RateLimitError,
  WaitTimeoutError,
  apiErrorFromResponse,
} from "./errors.js";
import {
  type CancelResult,
  type Delivery,
  type GenerateBody,
  type Job,
  type JobListItem,
  type JobPage,
  type JobStatus,
  type Redelivery,
  type ResponseMeta,
  type Submission,
  type UsageReport,
  isTerminal,
  responseMeta,
} from "./models.js";
import { envVar, nodeVersion, randomUUID } from "./runtime.js";
import { VERSION } from "./version.js";

export const DEFAULT_BASE_URL = "http://localhost:3001";
/** The contract's longest `Prefer: wait` / `?wait=N`. */
export const MAX_WAIT = 25;
/** Seconds of HTTP timeout beyond a request's wait. */
const WAIT_MARGIN = 10;
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504]);

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

const BODY_FIELDS = [
  "prompt",
  "mode",
  "inputImageUrl",
  "inputImageUrls",
  "aspectRatio",
  "imageSize",
  "numberOfImages",
  "outputFormat",
  "outputQuality",
  "deadlineSeconds",
  "webhookUrl",
] as const;
const CALL_FIELDS = new Set<string>(["idempotencyKey", "wait", "timeout"]);
const KNOWN_FIELDS = new Set<string>([...BODY_FIELDS, ...CALL_FIELDS]);

/** The submit's JSON: only the fields given (`undefined` and `null` are "not given", as `null` is to the API). */
export function generateBody(options: GenerateBody): Record<string, unknown> {
  if (options === null || typeof options !== "object") throw new TypeError("generate takes an options object");
  for (const k of Object.keys(options)) {
    if (!KNOWN_FIELDS.has(k)) throw new TypeError(`unknown generate option ${JSON.stringify(k)}`);
  }
  if (typeof options.prompt !== "string") throw new TypeError("prompt must be a string");
  if (typeof options.inputImageUrls === "string") {
    throw new TypeError("inputImageUrls must be an array of URLs (use inputImageUrl for one)");
  }
  const body: Record<string, unknown> = {};
  for (const name of BODY_FIELDS) {
    const value = (options as unknown as Record<string, unknown>)[name];
    if (value !== undefined && value !== null) body[name] = Array.isArray(value) ? [...value] : value;
  }
  return body;
}

function jobPath(jobId: string, suffix = ""): string {
  if (typeof jobId !== "string" || jobId === "") throw new TypeError("jobId must be a non-empty string");
  return "/v1/jobs/" + encodeURIComponent(jobId) + suffix;
}

function day(value: string | Date | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError(`${name} is an invalid Date`);
    return value.toISOString().slice(0, 10);
  }
  if (typeof value === "string") return value;
  throw new TypeError(`${name} must be a 'YYYY-MM-DD' string or a Date`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const c = cause instanceof Error ? ` (${cause.name}: ${cause.message})` : "";
    return `${e.name}: ${e.message}${c}`;
  }
  return String(e);
}

const realSleep = (seconds: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, seconds * 1000)));
const realNow = () =>
  typeof performance !== "undefined" && typeof performance.now === "function" ? performance.now() / 1000 : Date.now() / 1000;

export class ImageSaaS {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly maxRetryWait: number;
  readonly timeout: number;
  readonly waitTimeout: number;
  readonly pollInterval: number;
  readonly jobs: Jobs;
  private readonly apiKey: string;
  private readonly backoffBase: number;
  private readonly backoffMax: number;
  private readonly extraHeaders: Record<string, string>;
  private readonly fetchImpl: FetchLike;
  /** @internal */ readonly sleep: (seconds: number) => Promise<void>;
  /** @internal */ readonly now: () => number;
  private readonly random: () => number;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? envVar("IMAGESAAS_API_KEY");
    if (!apiKey) throw new ImageSaaSError("no API key: pass apiKey or set IMAGESAAS_API_KEY");
    this.apiKey = apiKey;
    this.baseUrl = (options.baseUrl ?? envVar("IMAGESAAS_BASE_URL") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.maxRetries = options.maxRetries ?? 3;
    this.maxRetryWait = options.maxRetryWait ?? 60;
    this.timeout = options.timeout ?? 30;
    this.waitTimeout = options.waitTimeout ?? 300;
    this.pollInterval = options.pollInterval ?? 1;
    this.backoffBase = options.backoffBase ?? 0.5;
    this.backoffMax = options.backoffMax ?? 8;
    this.extraHeaders = { ...(options.headers ?? {}) };
    const f = options.fetch ?? (globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined);
    if (!f) throw new ImageSaaSError("no fetch here: pass options.fetch (Node 18+ and browsers have one)");
    this.fetchImpl = f as FetchLike;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? realNow;
    this.random = options.random ?? Math.random;
    this.jobs = new Jobs(this);
  }

  // --- requests and retries -------------------------------------------------

  private baseHeaders(auth = true): Record<string, string> {
    const h: Record<string, string> = { Accept: "application/json" };
    if (auth) h["Authorization"] = `Bearer ${this.apiKey}`;
    const node = nodeVersion();
    // Browsers do not let a page set User-Agent; Node does.
    if (node) h["User-Agent"] = `imagesaas-typescript/${VERSION} node/${node}`;
    return { ...h, ...this.extraHeaders };
  }

  private url(path: string, params: [string, string][] = []): string {
    const q = params.length ? "?" + new URLSearchParams(params).toString() : "";
    return this.baseUrl + path + q;
  }

  private spec(method: string, path: string, params: [string, string][] = [], timeout?: number): RequestSpec {
    return { method, url: this.url(path, params), headers: this.baseHeaders(), timeout: timeout ?? this.timeout };
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.backoffMax, this.maxRetryWait, this.backoffBase * 2 ** attempt);
    return ceiling * (0.5 + 0.5 * this.random());
  }

  /** Seconds to wait before the next attempt (`null`: no retry) and the error to throw otherwise. */
  private decide(attempt: number, outcome: Outcome | { error: ImageSaaSError }): [number | null, Error] {
    if ("error" in outcome) return [this.backoff(attempt), outcome.error];
    const err = apiErrorFromResponse(outcome.status, outcome.headers, outcome.text);
    if (err instanceof QuotaExceededError) return [null, err]; // Retry-After is up to a month: surface it
    if (err instanceof RateLimitError) {
      const ra = err.retryAfter;
      if (ra === null) return [this.backoff(attempt), err];
      if (ra > this.maxRetryWait) return [null, err];
      // A little jitter after the server's time, so that clients refused together do not all come back at once.
      return [ra + Math.min(1, 0.1 * ra) * this.random(), err];
    }
    if (RETRYABLE_STATUSES.has(outcome.status)) {
      const ra = err.retryAfter;
      if (ra !== null && ra <= this.maxRetryWait) return [ra, err];
      return [this.backoff(attempt), err];
    }
    return [null, err];
  }

  private async attempt(spec: RequestSpec): Promise<Outcome | { error: ImageSaaSError }> {
    const init: RequestInit = { method: spec.method, headers: spec.headers };
    if (spec.body !== undefined) init.body = spec.body;
    let signal: AbortSignal | undefined;
    if (typeof AbortSignal !== "undefined" && typeof AbortSignal.timeout === "function") {
      signal = AbortSignal.timeout(Math.ceil(spec.timeout * 1000));
      init.signal = signal;
    }
    try {
      const res = await this.fetchImpl(spec.url, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, text };
    } catch (e) {
      const timedOut =
        (signal?.aborted ?? false) || (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError"));
      const cls = timedOut ? APITimeoutError : APIConnectionError;
      return { error: new cls(`${spec.method} ${spec.url}: ${describeError(e)}`, { cause: e }) };
    }
  }

  /**
   * Send a request, retrying 429 (not QUOTA_EXCEEDED), 5xx and dropped
   * connections. `make(attempt)` builds each attempt (the same idempotency
   * key every time). No retry sleeps past `deadline` (a `now()` value).
   */
  private async send(make: (attempt: number) => RequestSpec, deadline?: number): Promise<Outcome> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(make(attempt));
      if (!("error" in outcome) && outcome.status < 400) return outcome;
      const [delay, err] = this.decide(attempt, outcome);
      if (delay === null || attempt >= this.maxRetries || (deadline !== undefined && this.now() + delay > deadline)) {
        throw err;
      }
      await this.sleep(delay);
    }
  }

  /** @internal */
  async request(spec: RequestSpec, deadline?: number): Promise<[Record<string, unknown>, ResponseMeta, Outcome]> {
    const outcome = await this.send(() => spec, deadline);
    return this.parse(outcome);
  }

  private parse(outcome: Outcome): [Record<string, unknown>, ResponseMeta, Outcome] {
    const meta = responseMeta(outcome.status, outcome.headers);
    let data: unknown;
    try {
      data = outcome.text ? JSON.parse(outcome.text) : undefined;
    } catch {
      data = undefined;
    }
    if (!isObject(data)) {
      throw new ApiError(`the API answered ${outcome.status} with a body that is not a JSON object`, {
        code: null,
        status: outcome.status,
        requestId: meta.requestId,
        meta,
        body: outcome.text.slice(0, 500),
      });
    }
    return [data, meta, outcome];
  }

  /** @internal A 2xx body without the contract's fields is an `ApiError`, not a `TypeError` later. */
  check(ok: boolean, what: string, meta: ResponseMeta, data: unknown): void {
    if (!ok) {
      throw new ApiError(`the API answered ${meta.status} with a body the contract does not describe (${what})`, {
        code: null,
        status: meta.status,
        requestId: meta.requestId,
        meta,
        body: data,
      });
    }
  }

  /** @internal */
  toJob(data: Record<string, unknown>, meta: ResponseMeta): Job {
    this.check(typeof data.jobId === "string" && typeof data.status === "string", "no jobId or status", meta, data);
    return {
      ...data,
      resultUrls: Array.isArray(data.resultUrls) ? (data.resultUrls as string[]) : [],
      error: (data.error as Job["error"]) ?? null,
      images: Array.isArray(data.images) ? (data.images as Job["images"]) : [],
      usage: (data.usage as Job["usage"]) ?? null,
      meta,
    } as Job;
  }

  // --- waiting --------------------------------------------------------------

  /** @internal */
  resolveTimeout(timeout: number | undefined): number {
    const t = timeout === undefined ? this.waitTimeout : Number(timeout);
    if (!(t > 0)) throw new RangeError("timeout must be a positive number of seconds");
    return t;
  }

  /** The N of `wait=N` that ends by `deadline`; `null` when under a second is left. */
  private waitSeconds(deadline: number): number | null {
    const remaining = deadline - this.now();
    if (remaining >= MAX_WAIT) return MAX_WAIT;
    if (remaining >= 1) return Math.floor(remaining);
    return null;
  }

  /** @internal `GET /v1/jobs/{jobId}`, or a long poll of up to `wait` seconds. */
  async getJob(jobId: string, wait?: number | null, deadline?: number): Promise<Job> {
    const params: [string, string][] = [];
    let timeout = this.timeout;
    if (wait !== undefined && wait !== null) {
      params.push(["wait", String(Math.floor(wait))]);
      timeout = Math.max(this.timeout, Math.floor(wait) + WAIT_MARGIN);
    }
    const [data, meta] = await this.request(this.spec("GET", jobPath(jobId), params, timeout), deadline);
    return this.toJob(data, meta);
  }

  /**
   * @internal Long-poll until the job is terminal; `WaitTimeoutError` at
   * `deadline`. Each poll is `?wait=N` with N the whole seconds left (at most
   * 25); with under a second left, one last plain read at the deadline (not
   * before it: a 2 s wait whose `wait=1` poll ends with 0.9 s left must not
   * give up then). Polls are at least `pollInterval` apart, so a deployment
   * that ignores `wait` is not hammered.
   */
  async waitFor(jobId: string, deadline: number): Promise<Job> {
    for (;;) {
      const n = this.waitSeconds(deadline);
      if (n === null) {
        const left = deadline - this.now();
        if (left > 0) await this.sleep(left);
      }
      const started = this.now();
      const job = await this.getJob(jobId, n, deadline);
      if (isTerminal(job.status)) return job;
      const remaining = deadline - this.now();
      if (n === null || remaining <= 0) {
        throw new WaitTimeoutError(`job ${jobId} is still ${job.status} after the wait's timeout; it goes on running`, job);
      }
      const pause = this.pollInterval - (this.now() - started);
      if (pause > 0) await this.sleep(Math.min(pause, remaining));
    }
  }

  // --- the operations -------------------------------------------------------

  /**
   * `POST /v1/images/generate`. Without `wait`, the `Submission`; with
   * `wait: true`, the terminal `Job` (or a `WaitTimeoutError` after `timeout`
   * seconds). Every attempt carries the same `Idempotency-Key`, so a retried
   * submit (a dropped connection, a 5xx, a 429) never makes a second job.
   */
  generate(options: GenerateOptions & { wait: true }): Promise<Job>;
  generate(options: GenerateOptions & { wait?: false | undefined }): Promise<Submission>;
  generate(options: GenerateOptions): Promise<Job | Submission>;
  async generate(options: GenerateOptions): Promise<Job | Submission> {
    const body = JSON.stringify(generateBody(options));
    const key = options.idempotencyKey ?? (await randomUUID());
    if (typeof key !== "string" || key === "") throw new TypeError("idempotencyKey must be a non-empty string");
    const wait = options.wait === true;
    const deadline = wait ? this.now() + this.resolveTimeout(options.timeout) : undefined;
    const url = this.url("/v1/images/generate");
    const make = (): RequestSpec => {
      const headers = this.baseHeaders();
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = key;
      let timeout = this.timeout;
      if (deadline !== undefined) {
        const n = this.waitSeconds(deadline);
        if (n !== null) {
          headers["Prefer"] = `wait=${n}`;
          timeout = Math.max(this.timeout, n + WAIT_MARGIN);
        }
      }
      return { method: "POST", url, headers, body, timeout };
    };
    // The submit itself is never cut short by the wait's deadline: it must
    // land (or fail) so that the caller learns the job id.
    const [data, meta] = this.parse(await this.send(make));
    this.check(typeof data.jobId === "string" && typeof data.status === "string", "no jobId or status", meta, data);
    const submission: Submission = {
      jobId: data.jobId as string,
      status: data.status as JobStatus,
      idempotencyKey: key,
      replayed: meta.replayed,
      meta,
    };
    if (deadline === undefined) return submission;
    // A waited submit answers the whole job view; a plain one only {jobId, status}.
    let job: Job | null = "createdAt" in data && "resultUrls" in data ? this.toJob(data, meta) : null;
    if (job === null || !isTerminal(job.status)) job = await this.waitFor(submission.jobId, deadline);
    return { ...job, submission };
  }

  /** `GET /v1/usage` for the UTC days `from`..`to` (the API's defaults when not given). */
  async usage(options: UsageOptions = {}): Promise<UsageReport> {
    const params: [string, string][] = [];
    const f = day(options.from, "from");
    const t = day(options.to, "to");
    if (f !== undefined) params.push(["from", f]);
    if (t !== undefined) params.push(["to", t]);
    const [data, meta] = await this.request(this.spec("GET", "/v1/usage", params));
    this.check(Array.isArray(data.days) && isObject(data.total), "no days or total", meta, data);
    return { ...(data as unknown as UsageReport), meta };
  }

  /** `GET /health` (no key sent). */
  async health(): Promise<Record<string, unknown>> {
    const spec: RequestSpec = { method: "GET", url: this.url("/health"), headers: this.baseHeaders(false), timeout: this.timeout };
    const [data] = await this.request(spec);
    return data;
  }

  /** @internal */
  specFor(method: string, path: string, params: [string, string][] = []): RequestSpec {
    return this.spec(method, path, params);
  }
}

export class Jobs {
  constructor(private readonly client: ImageSaaS) {}

  /** `GET /v1/jobs/{jobId}`. */
  async get(jobId: string): Promise<Job> {
    return this.client.getJob(jobId);
  }

  /** Wait until the job is terminal; `WaitTimeoutError` after `timeout` seconds (default the client's `waitTimeout`). */
  async wait(jobId: string, options: { timeout?: number } = {}): Promise<Job> {
    jobPath(jobId);
    const deadline = this.client.now() + this.client.resolveTimeout(options.timeout);
    return this.client.waitFor(jobId, deadline);
  }

  /** `DELETE /v1/jobs/{jobId}`: `INVALID_STATE` when the job is already terminal. */
  async cancel(jobId: string): Promise<CancelResult> {
    const [data, meta] = await this.client.request(this.client.specFor("DELETE", jobPath(jobId)));
    this.client.check(typeof data.jobId === "string" && typeof data.status === "string", "no jobId or status", meta, data);
    return { jobId: data.jobId as string, status: data.status as "CANCELED", meta };
  }

  /** One page of `GET /v1/jobs`. */
  async listPage(options: ListPageOptions = {}): Promise<JobPage> {
    const params: [string, string][] = [];
    if (options.status !== undefined) params.push(["status", options.status]);
    if (options.limit !== undefined) params.push(["limit", String(Math.floor(options.limit))]);
    if (options.cursor !== undefined && options.cursor !== null) params.push(["cursor", options.cursor]);
    const [data, meta] = await this.client.request(this.client.specFor("GET", "/v1/jobs", params));
    this.client.check(Array.isArray(data.items) && typeof data.hasMore === "boolean", "no items or hasMore", meta, data);
    return {
      items: data.items as JobListItem[],
      hasMore: data.hasMore as boolean,
      nextCursor: typeof data.nextCursor === "string" ? data.nextCursor : null,
      meta,
    };
  }

  /** Every job, newest first, following `nextCursor` page by page (`limit` is the page size). */
  async *list(options: ListOptions = {}): AsyncGenerator<JobListItem, void, undefined> {
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (;;) {
      const page: JobPage = await this.listPage({ ...options, cursor });
      yield* page.items;
      const next: string | null = page.hasMore ? page.nextCursor : null;
      if (next === null) return;
      if (seen.has(next)) throw new ImageSaaSError(`the API returned the cursor ${JSON.stringify(next)} twice; stopping the listing`);
      seen.add(next);
      cursor = next;
    }
  }

  /** `GET /v1/jobs/{jobId}/deliveries`: the webhook attempts of the job. */
  async deliveries(jobId: string): Promise<Delivery[]> {
    const [data, meta] = await this.client.request(this.client.specFor("GET", jobPath(jobId, "/deliveries")));
    this.client.check(Array.isArray(data.items), "no items", meta, data);
    return data.items as Delivery[];
  }

  /** `POST /v1/jobs/{jobId}/deliveries`: send the job's webhook event again (no body, as the contract allows). */
  async redeliver(jobId: string): Promise<Redelivery> {
    const [data, meta] = await this.client.request(this.client.specFor("POST", jobPath(jobId, "/deliveries")));
    this.client.check(typeof data.eventId === "string", "no eventId", meta, data);
    return { eventId: data.eventId as string, status: data.status as "pending", meta };
  }
}
