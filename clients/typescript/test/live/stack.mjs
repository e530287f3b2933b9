// The live suite's glue: the local stack `clients/live-stack.sh` starts (its
// URL, admin CLI and dev key come from the environment), tenants made with
// the admin CLI, and small local HTTP servers the tests point the stack at.
//
// Without IMAGESAAS_LIVE_BASE_URL every live test is skipped (a plain
// `node --test test/` stays green). With it, nothing is ever skipped: a stack
// that does not answer fails the tests.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import { deflateSync } from "node:zlib";

import { ImageSaaS } from "../../dist/index.js";

const env = (name) => (process.env[name] ? process.env[name] : null);

export const BASE_URL = env("IMAGESAAS_LIVE_BASE_URL")?.replace(/\/+$/, "") ?? null;
export const ADMIN = env("IMAGESAAS_LIVE_ADMIN");
export const DEV_KEY = env("IMAGESAAS_LIVE_DEV_KEY");

/** The options of every live test: skipped, with the reason, when no stack is given. */
export const live = {
  skip: BASE_URL
    ? false
    : "IMAGESAAS_LIVE_BASE_URL is not set; the live suite runs against a local stack: " +
      "bash clients/live-stack.sh sh -c 'cd clients/typescript && npm run test:live' (from the repository root)",
};

function required(value, name) {
  if (!value) throw new Error(`${name} is not set (IMAGESAAS_LIVE_BASE_URL is, so the live suite must run): use clients/live-stack.sh`);
  return value;
}

/** `imagesaas-admin --json ARGS...`, parsed; a failure names the command and its stderr. */
export function admin(...args) {
  const bin = required(ADMIN, "IMAGESAAS_LIVE_ADMIN");
  return new Promise((resolve, reject) => {
    execFile(bin, ["--json", ...args], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`imagesaas-admin ${args.join(" ")} failed (${err.code ?? err.signal}): ${stderr || err.message}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`imagesaas-admin ${args.join(" ")} printed no JSON: ${stdout} ${stderr}`, { cause: e }));
      }
    });
  });
}

/** A fresh tenant with a test key: `{tenantId, key, webhookSecret}` (`webhookSecret` only with `webhookUrl`). */
export async function newTenant({ rpm, maxConcurrency, webhookUrl, quota, name } = {}) {
  const args = ["tenant", "create", "--name", name ?? `ts-live-${randomUUID().slice(0, 8)}`];
  if (rpm !== undefined) args.push("--rpm", String(rpm));
  if (maxConcurrency !== undefined) args.push("--max-concurrency", String(maxConcurrency));
  if (quota !== undefined) args.push("--monthly-image-quota", String(quota));
  if (webhookUrl !== undefined) args.push("--webhook-url", webhookUrl);
  const tenant = await admin(...args);
  if (typeof tenant.tenantId !== "string") throw new Error(`tenant create answered ${JSON.stringify(tenant)}`);
  const key = await admin("key", "create", "--tenant", tenant.tenantId, "--mode", "test");
  if (typeof key.key !== "string") throw new Error(`key create answered ${JSON.stringify(key)}`);
  return { tenantId: tenant.tenantId, key: key.key, webhookSecret: tenant.webhookSecret ?? null };
}

/** A client of the stack (real timers, real fetch unless `opts.fetch`). */
export function client(key, opts = {}) {
  return new ImageSaaS({ apiKey: key, baseUrl: required(BASE_URL, "IMAGESAAS_LIVE_BASE_URL"), ...opts });
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `predicate` (sync or async) until it returns something truthy, and
 * return that; after `timeoutMs` throw an error naming `what` (and the last
 * error the predicate threw, if any).
 */
export async function until(predicate, { timeoutMs = 60_000, intervalMs = 250, what = "a condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? ` (last error: ${last})` : ""), {
        cause: last,
      });
    }
    await pause(intervalMs);
  }
}

/** `promise`, or an error naming `what` after `timeoutMs`. */
export function within(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A job id list: every id the stack lists for `c`'s tenant (optionally by status). */
export async function listedIds(c, options = {}) {
  const ids = [];
  for await (const item of c.jobs.list({ limit: 100, ...options })) ids.push(item.id);
  return ids;
}

/**
 * A `fetch` that records every request (method, path, headers, when it was
 * sent) and its answer (status, `Retry-After`, when it came), and calls
 * `onResponse(record, response)` before handing the answer on.
 */
export function recordingFetch({ onResponse } = {}) {
  const calls = [];
  const fetchImpl = async (url, init = {}) => {
    const u = new URL(url);
    const rec = {
      method: init.method ?? "GET",
      path: u.pathname,
      search: u.search,
      headers: new Headers(init.headers),
      sentAt: performance.now(),
      status: null,
      retryAfter: null,
      answeredAt: null,
      error: null,
    };
    calls.push(rec);
    try {
      const res = await fetch(url, init);
      rec.status = res.status;
      rec.retryAfter = res.headers.get("retry-after");
      rec.answeredAt = performance.now();
      onResponse?.(rec, res);
      return res;
    } catch (e) {
      rec.error = e;
      rec.answeredAt = performance.now();
      throw e;
    }
  };
  const submits = () => calls.filter((c) => c.method === "POST" && c.path.endsWith("/v1/images/generate"));
  return { fetch: fetchImpl, calls, submits };
}

// --- local servers -------------------------------------------------------

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * A webhook receiver: records each request (method, url, Node's `headers`,
 * the raw body as a Buffer) and answers 200. `request(n)` is a promise of
 * the n-th request (0-based), `waitFor(pred)` of the first one `pred` likes.
 */
export async function webhookReceiver({ path = "/hook" } = {}) {
  const requests = [];
  const waiters = new Set();
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const rec = { method: req.method, url: req.url, headers: req.headers, body, receivedAt: Date.now() };
    requests.push(rec);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    for (const w of waiters) w();
  });
  const port = await listen(server);
  const waitFor = (pred, { timeoutMs = 120_000, what = "a webhook request" } = {}) => {
    let wake;
    const found = new Promise((resolve) => {
      wake = () => {
        const hit = requests.find(pred);
        if (hit) resolve(hit);
      };
      waiters.add(wake);
      wake();
    });
    return within(found, timeoutMs, what).finally(() => waiters.delete(wake));
  };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    waitFor,
    request: (n, opts = {}) => waitFor((r) => requests.indexOf(r) === n, { what: `webhook request #${n + 1}`, ...opts }),
    close: () => closeServer(server),
  };
}

// A small valid PNG (16×16 RGB gradient), built here so no fixture file is needed.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function makePng(size = 16) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 3);
    raw[row] = 0; // no filter
    for (let x = 0; x < size; x++) {
      raw[row + 1 + x * 3] = x * 16;
      raw[row + 2 + x * 3] = y * 16;
      raw[row + 3 + x * 3] = 128;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
export const PNG = makePng();
export const PNG_MAGIC = PNG.subarray(0, 8);

/**
 * An image server that holds every request until `release()` (or for
 * `maxStallMs`, 15 s, at most: the worker gives up on an input after 20 s)
 * and then serves a small PNG; after `release()` it serves at once. A job
 * with `inputImageUrl: stall.url` therefore stays QUEUED or RUNNING until
 * released. `hits` counts requests; `hit` resolves on the first.
 */
export async function stallingImageServer({ maxStallMs = 15_000 } = {}) {
  let released = false;
  let hits = 0;
  let firstHit;
  const hit = new Promise((r) => (firstHit = r));
  const held = new Set();
  const serve = (res) => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(200, { "content-type": "image/png", "content-length": PNG.length });
    res.end(PNG);
  };
  const server = createServer((req, res) => {
    hits++;
    firstHit();
    req.resume();
    if (released) return serve(res);
    const entry = { res, timer: null };
    entry.timer = setTimeout(() => {
      held.delete(entry);
      serve(res);
    }, maxStallMs);
    held.add(entry);
  });
  const port = await listen(server);
  const release = () => {
    released = true;
    for (const entry of held) {
      clearTimeout(entry.timer);
      serve(entry.res);
    }
    held.clear();
  };
  return {
    url: `http://127.0.0.1:${port}/input.png`,
    release,
    hit,
    get hits() {
      return hits;
    },
    get released() {
      return released;
    },
    close: async () => {
      release();
      await closeServer(server);
    },
  };
}

/**
 * A proxy in front of the stack that forwards everything, except that it
 * forwards the first `POST /v1/images/generate`, reads the stack's whole
 * answer, and then destroys the client's socket without replying: the
 * client sees a dropped connection after the job was made. `submits` lists
 * each submit it forwarded: `{idempotencyKey, status, body, dropped}`.
 */
export async function dropFirstSubmitProxy(target = required(BASE_URL, "IMAGESAAS_LIVE_BASE_URL")) {
  const up = new URL(target);
  const submits = [];
  let dropped = false;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const isSubmit = req.method === "POST" && new URL(req.url, "http://proxy").pathname === "/v1/images/generate";
    const headers = { ...req.headers, host: up.host };
    delete headers.connection;
    const forward = httpRequest(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers },
      async (upRes) => {
        const answer = await readBody(upRes);
        let rec = null;
        if (isSubmit) {
          rec = {
            idempotencyKey: req.headers["idempotency-key"] ?? null,
            status: upRes.statusCode,
            replayed: upRes.headers["idempotent-replayed"] === "true",
            body: answer.toString("utf8"),
            dropped: false,
          };
          submits.push(rec);
        }
        if (rec && !dropped) {
          dropped = true;
          rec.dropped = true;
          req.socket.destroy();
          return;
        }
        const out = { ...upRes.headers, "content-length": String(answer.length) };
        delete out["transfer-encoding"];
        delete out.connection;
        res.writeHead(upRes.statusCode, out);
        res.end(answer);
      },
    );
    forward.on("error", (e) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${e.message}`);
    });
    forward.end(body);
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, submits, close: () => closeServer(server) };
}
