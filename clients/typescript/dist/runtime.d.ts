/** What differs between Node and browsers: WebCrypto, the environment, a user agent. */
/** `process.env[name]` in Node; `undefined` in a browser. */
export declare function envVar(name: string): string | undefined;
export declare function nodeVersion(): string | undefined;
/**
 * WebCrypto: `globalThis.crypto` (browsers, Node 19+), else `node:crypto`'s
 * `webcrypto` (Node 18 without --experimental-global-webcrypto).
 */
export declare function webCrypto(): Promise<Crypto>;
/** A v4 UUID: `crypto.randomUUID()` where there is one, else from `getRandomValues`. */
export declare function randomUUID(): Promise<string>;
