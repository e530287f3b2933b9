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
export const JOB_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "RETRYING", "CANCELED"];
export const TERMINAL_STATUSES = new Set(["SUCCEEDED", "FAILED", "CANCELED"]);
export const JOB_ERROR_CODES = [
    "CONTENT_BLOCKED",
    "INPUT_IMAGE_INVALID",
    "GENERATION_FAILED",
    "PROVIDER_UNAVAILABLE",
    "TIMEOUT",
];
export const MODES = ["draft", "final"];
export const ASPECT_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
export const IMAGE_SIZES = ["1K", "2K", "4K"];
export const OUTPUT_FORMATS = ["png", "jpeg", "webp"];
export function isTerminal(status) {
    return TERMINAL_STATUSES.has(status);
}
function intOrNull(value) {
    if (value === undefined)
        return null;
    const t = value.trim();
    if (!/^-?\d+$/.test(t))
        return null;
    return Number(t);
}
export function responseMeta(status, headers) {
    const h = {};
    headers.forEach((v, k) => {
        h[k.toLowerCase()] = v;
    });
    const rl = ["limit", "remaining", "reset"].map((n) => intOrNull(h["x-ratelimit-" + n]));
    const rateLimit = rl.every((v) => v !== null) ? { limit: rl[0], remaining: rl[1], reset: rl[2] } : null;
    const ql = intOrNull(h["x-quota-limit"]);
    const qr = intOrNull(h["x-quota-remaining"]);
    const quota = ql !== null && qr !== null ? { limit: ql, remaining: qr, reset: intOrNull(h["x-quota-reset"]) } : null;
    return {
        status,
        requestId: h["x-request-id"] ?? null,
        headers: h,
        rateLimit,
        quota,
        replayed: (h["idempotent-replayed"] ?? "").trim().toLowerCase() === "true",
        preferenceApplied: h["preference-applied"] ?? null,
        location: h["location"] ?? null,
    };
}
