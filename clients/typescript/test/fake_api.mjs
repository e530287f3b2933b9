// An in-process fake of the Image SaaS API: a `fetch` function answering
// with the contract's JSON (docs/API.md). It is not the service.
let seq = 0;

export function jobView(job) {
  const terminal = ["SUCCEEDED", "FAILED", "CANCELED"].includes(job.status);
  return {
    jobId: job.id,
    status: job.status,
    resultUrls: job.status === "SUCCEEDED" ? [`http://localhost:3001/results/${job.id}/0.png`] : [],
    error: job.status === "FAILED" ? { code: "GENERATION_FAILED", message: "the model failed" } : null,
    images: [],
    usage: terminal ? { images: 1, providerCalls: 1, inputTokens: null, outputTokens: null, costUsd: 0 } : null,
    request: null,
    livemode: false,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
    deadlineAt: null,
  };
}

function listItem(job) {
  return {
    id: job.id,
    status: job.status,
    prompt: job.body.prompt,
    mode: job.body.mode ?? "final",
    inputImageUrl: null,
    aspectRatio: job.body.aspectRatio ?? "1:1",
    resultUrls: [],
    errorCode: null,
    errorMessage: null,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
  };
}

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-request-id": `req_${++seq}`, ...headers },
  });
}

export function errorResponse(status, code, message, headers = {}) {
  return json(status, { error: code, message }, headers);
}

export class FakeApi {
  constructor() {
    this.jobs = []; // newest last
    this.byKey = new Map();
    this.requests = []; // {method, path, query, headers, body}
    // Scripted answers, taken one per request before the route runs:
    // a Response, "drop" (fetch throws, nothing reached the server), or
    // "drop-after" (the server did the work, then the connection dropped).
    this.script = [];
    // How many polls a new job stays RUNNING (Infinity: never ends).
    this.pollsToFinish = 0;
    this.fetch = this.fetch.bind(this);
  }

  addJob(body, status = "QUEUED") {
    const id = `cmjob${String(this.jobs.length).padStart(6, "0")}`;
    const job = {
      id,
      status,
      body,
      polls: 0,
      createdAt: new Date(Date.UTC(2026, 11, 1, 0, 0, this.jobs.length)).toISOString(),
    };
    this.jobs.push(job);
    return job;
  }

  async fetch(input, init = {}) {
    const url = new URL(input);
    const headers = new Headers(init.headers);
    const rec = {
      method: init.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: init.body === undefined ? undefined : JSON.parse(init.body),
    };
    this.requests.push(rec);
    const scripted = this.script.shift();
    if (scripted === "drop") throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
    if (scripted instanceof Response) return scripted;
    const res = this.route(rec);
    if (scripted === "drop-after") throw new TypeError("fetch failed", { cause: new Error("socket hang up") });
    return res;
  }

  route(rec) {
    const { method, path, query, headers } = rec;
    if (headers.get("authorization") !== "Bearer img_test_fake") {
      return errorResponse(401, "INVALID_API_KEY", "unknown API key");
    }
    if (method === "POST" && path === "/v1/images/generate") {
      const key = headers.get("idempotency-key");
      let job = key ? this.byKey.get(key) : undefined;
      const replayed = job !== undefined;
      if (!job) {
        job = this.addJob(rec.body);
        if (this.pollsToFinish === 0) job.status = "SUCCEEDED";
        if (key) this.byKey.set(key, job);
      }
      const extra = { "x-ratelimit-limit": "60", "x-ratelimit-remaining": "59", "x-ratelimit-reset": "1800000000" };
      if (replayed) extra["idempotent-replayed"] = "true";
      const prefer = headers.get("prefer");
      if (prefer && /^wait(=\d+)?$/.test(prefer)) {
        extra["preference-applied"] = prefer;
        const done = ["SUCCEEDED", "FAILED", "CANCELED"].includes(job.status);
        // A held submit whose job does not end took its N seconds.
        if (!done && this.clock) this.clock.t += Number(prefer.split("=")[1] ?? 25);
        return json(done ? 200 : 202, jobView(job), extra);
      }
      return json(202, { jobId: job.id, status: job.status }, extra);
    }
    if (method === "GET" && path === "/v1/jobs") {
      let list = [...this.jobs].reverse();
      if (query.status) list = list.filter((j) => j.status === query.status);
      const limit = query.limit ? Number(query.limit) : 50;
      const start = query.cursor ? Number(query.cursor) : 0;
      const items = list.slice(start, start + limit);
      const hasMore = start + limit < list.length;
      return json(200, { items: items.map(listItem), hasMore, nextCursor: hasMore ? String(start + limit) : null });
    }
    const m = /^\/v1\/jobs\/([^/]+)(\/deliveries)?$/.exec(path);
    if (m) {
      const job = this.jobs.find((j) => j.id === decodeURIComponent(m[1]));
      if (!job) return errorResponse(404, "JOB_NOT_FOUND", "no such job");
      if (m[2] && method === "GET") {
        return json(200, {
          items: [
            {
              eventId: `evt_${job.id}`,
              attempt: 1,
              url: "https://example.com/hook",
              at: job.createdAt,
              status: "delivered",
              httpStatus: 200,
              error: null,
              durationMs: 12,
              nextAttemptAt: null,
            },
          ],
        });
      }
      if (m[2] && method === "POST") return json(202, { eventId: `evt_${job.id}_2`, status: "pending" });
      if (method === "GET") {
        if (!["SUCCEEDED", "FAILED", "CANCELED"].includes(job.status)) {
          job.polls += 1;
          job.status = job.polls >= this.pollsToFinish ? "SUCCEEDED" : "RUNNING";
          // A long poll that ends without the job ending took its N seconds.
          if (job.status === "RUNNING" && query.wait && this.clock) this.clock.t += Number(query.wait);
        }
        return json(200, jobView(job));
      }
      if (method === "DELETE") {
        if (["SUCCEEDED", "FAILED", "CANCELED"].includes(job.status)) {
          return errorResponse(400, "INVALID_STATE", `job is ${job.status}`);
        }
        job.status = "CANCELED";
        return json(200, { jobId: job.id, status: "CANCELED" });
      }
    }
    if (method === "GET" && path === "/v1/usage") {
      const totals = { jobs: this.jobs.length, images: this.jobs.length, costUsd: 0 };
      return json(200, {
        livemode: false,
        from: query.from ?? "2026-12-01",
        to: query.to ?? "2026-12-31",
        days: [{ date: "2026-12-01", draft: totals, final: { jobs: 0, images: 0, costUsd: 0 } }],
        total: totals,
      });
    }
    return errorResponse(404, "NOT_FOUND", "no route");
  }
}

/** A virtual clock: `sleep` advances it at once and records each pause. */
export function virtualClock() {
  const c = { t: 1000, sleeps: [] };
  c.now = () => c.t;
  c.sleep = async (s) => {
    c.sleeps.push(s);
    c.t += s;
  };
  return c;
}
