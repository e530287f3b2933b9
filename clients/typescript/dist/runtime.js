/** What differs between Node and browsers: WebCrypto, the environment, a user agent. */
function proc() {
    return globalThis.process;
}
/** `process.env[name]` in Node; `undefined` in a browser. */
export function envVar(name) {
    const v = proc()?.env?.[name];
    return v === undefined || v === "" ? undefined : v;
}
export function nodeVersion() {
    return proc()?.versions?.node;
}
let cached;
/**
 * WebCrypto: `globalThis.crypto` (browsers, Node 19+), else `node:crypto`'s
 * `webcrypto` (Node 18 without --experimental-global-webcrypto).
 */
export async function webCrypto() {
    if (cached)
        return cached;
    const g = globalThis.crypto;
    if (g?.subtle) {
        cached = g;
        return g;
    }
    // A computed specifier, so that bundlers for browsers leave it alone.
    const spec = "node:crypto";
    try {
        const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec));
        if (mod.webcrypto?.subtle) {
            cached = mod.webcrypto;
            return cached;
        }
    }
    catch {
        // fall through
    }
    throw new Error("no WebCrypto here: globalThis.crypto.subtle is missing");
}
/** A v4 UUID: `crypto.randomUUID()` where there is one, else from `getRandomValues`. */
export async function randomUUID() {
    const c = await webCrypto();
    if (typeof c.randomUUID === "function")
        return c.randomUUID();
    const b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
