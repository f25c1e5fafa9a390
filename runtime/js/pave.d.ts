// Types of what pave's JavaScript engine provides: the web APIs, the env
// object and pave's additions to Request. They describe this engine, not a
// browser or Node.js: use them instead of the DOM library, with
//
//   "compilerOptions": { "lib": ["ES2022"], "types": [] },
//   "include": ["src", "<pave>/runtime/js/pave.d.ts"]
//
// in tsconfig.json (docs/JAVASCRIPT.md). runtime/js's tests check that
// everything declared here exists in the engine, and that every global and
// public method of the engine is declared.

// ---- the handler -----------------------------------------------------------

/** What the entry point exports as default: `export default { fetch(...) {...} } satisfies Handler`. */
interface Handler {
  /** Runs once per call; returns the response, or a promise of one. */
  fetch(request: Request, env: Env): Response | Promise<Response>;
}

/**
 * The capabilities the manifest grants, checked by the host. One of a group the
 * manifest grants nothing in fails with a TypeError that names the grant (env.kv
 * throws it, the others reject with it).
 */
interface Env {
  /** The key-value bucket named `bucket`, which the manifest's `kv` grant must list. */
  kv(bucket: string): KVBucket;
  /** The latest value of the secret `name`, which the manifest's `secrets` grant must list; read at the call, never cached. */
  secret(name: string): Promise<string>;
  /**
   * Calls the function `name` (listed in the manifest's `invoke` grant) with a path and
   * optional query ("/" by default) or a Request, of whose URL only the path and query
   * are sent. The method is POST unless init or the Request says otherwise. Every
   * answer of the callee is a Response.
   */
  invoke(name: string, request?: string | Request, init?: RequestInit): Promise<Response>;
  /**
   * Stores an event on `topic` (listed in the manifest's `publish` grant) and resolves
   * to its id: a string, ArrayBuffer or typed array is sent as it is, any other value
   * as its JSON.
   */
  publish(topic: string, data: unknown): Promise<string>;
}

/** Why a capability call was refused or failed: the `code` of its rejection. */
type CapabilityErrorCode = "invalid" | "denied" | "not_found" | "conflict" | "limit" | "unavailable";

/** The rejection of a capability call: an Error (a TypeError for fetch) with a code. */
interface CapabilityError extends Error {
  code: CapabilityErrorCode;
}

/** A value with the revision it was read at; revision 0 and value null when there is none. */
interface KVEntry<T> {
  value: T | null;
  revision: number;
}

/** A key-value bucket. Each method returns a promise, rejected with a CapabilityError. */
interface KVBucket {
  /** The value of key as a string, or null if there is none. */
  get(key: string): Promise<string | null>;
  get(key: string, as: "text"): Promise<string | null>;
  /** The value of key parsed as JSON, or null if there is none. */
  get<T = unknown>(key: string, as: "json"): Promise<T | null>;
  /** The value of key as bytes, or null if there is none. */
  get(key: string, as: "arrayBuffer"): Promise<ArrayBuffer | null>;
  /** The value of key, as get reads it, with its revision. */
  getWithRevision(key: string, as?: "text"): Promise<KVEntry<string>>;
  getWithRevision<T = unknown>(key: string, as: "json"): Promise<KVEntry<T>>;
  getWithRevision(key: string, as: "arrayBuffer"): Promise<KVEntry<ArrayBuffer>>;
  /**
   * Sets key to value, a string (stored as UTF-8) or bytes, and resolves to the new
   * revision. With ifRevision it is a compare-and-swap: it writes only if the key is
   * still at that revision (0: only if the key does not exist), and otherwise rejects
   * with code "conflict".
   */
  put(key: string, value: string | ArrayBuffer | Uint8Array, options?: { ifRevision?: number }): Promise<number>;
  /** Deletes key; deleting a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** The keys that start with prefix, sorted. */
  list(prefix: string): Promise<string[]>;
}

// ---- bodies, Request and Response ------------------------------------------

/** A body: bytes in memory (streams are not supported). */
type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams;

type HeadersInit = Headers | Iterable<[string, string]> | Record<string, string>;

interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
}

interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

declare class Request {
  constructor(input: string | URL | Request, init?: RequestInit);
  /** The method, upper case for the standard ones. */
  readonly method: string;
  /** The absolute URL: http:// and the Host header, then the path and query. */
  readonly url: string;
  readonly headers: Headers;
  /** The bytes of the body, or null if there is none (not a stream). */
  readonly body: Uint8Array | null;
  readonly bodyUsed: boolean;
  /** pave: the matched route's path parameters, such as {id: "42"} for /users/{id}. */
  readonly params: Readonly<Record<string, string>>;
  /** pave: the matched route's pattern, such as "/users/{id}"; "" for a request the function made itself. */
  readonly route: string;
  /** pave: who called, such as "key:ci-bot" or "admin"; "" for a request the function made itself. */
  readonly caller: string;
  /** pave: the id of this invocation, as in the X-Request-Id response header and the logs. */
  readonly requestId: string;
  /** pave: the call's id, the same on every attempt of an asynchronous call, event or tick; null for a synchronous call. */
  readonly callId: string | null;
  /** pave: the CloudEvent a topic trigger delivered (its data is the body), or null. */
  readonly event: CloudEvent | null;
  /** pave: the schedule's tick that made this call, or null. */
  readonly scheduledAt: Date | null;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json<T = any>(): Promise<T>;
  clone(): Request;
}

/** pave: the attributes of a CloudEvent a topic trigger delivered. */
interface CloudEvent {
  readonly topic: string;
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  /** RFC 3339. */
  readonly time: string;
  readonly datacontenttype: string;
}

declare class Response {
  constructor(body?: BodyInit | null, init?: ResponseInit);
  /** A response with data as its JSON body and content-type application/json. */
  static json(data: unknown, init?: ResponseInit): Response;
  static redirect(url: string | URL, status?: 301 | 302 | 303 | 307 | 308): Response;
  /** Throws: error responses are not supported. */
  static error(): never;
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly type: "default";
  readonly redirected: boolean;
  readonly url: string;
  readonly body: Uint8Array | null;
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json<T = any>(): Promise<T>;
  clone(): Response;
}

declare class Headers {
  constructor(init?: HeadersInit);
  append(name: string, value: string): void;
  delete(name: string): void;
  /** The values of name joined with ", ", or null. */
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  /** The fields sorted by name, lower case. */
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  forEach(fn: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

// ---- URL and URLSearchParams ----------------------------------------------

declare class URL {
  constructor(url: string | URL, base?: string | URL);
  static canParse(url: string | URL, base?: string | URL): boolean;
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly hostname: string;
  readonly port: string;
  readonly host: string;
  readonly origin: string;
  pathname: string;
  search: string;
  readonly searchParams: URLSearchParams;
  hash: string;
  readonly href: string;
  toString(): string;
  toJSON(): string;
}

declare class URLSearchParams {
  constructor(init?: string | URLSearchParams | Iterable<[string, string]> | Record<string, string>);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  forEach(fn: (value: string, name: string, params: URLSearchParams) => void, thisArg?: unknown): void;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toString(): string;
}

// ---- text, bytes and randomness ---------------------------------------------

declare class TextEncoder {
  constructor();
  readonly encoding: "utf-8";
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  /** Only UTF-8: another label throws a RangeError. */
  constructor(label?: "utf-8" | "utf8" | "unicode-1-1-utf-8", options?: { fatal?: boolean });
  readonly encoding: "utf-8";
  readonly fatal: boolean;
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

type IntegerArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array |
  Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * A key made by crypto.subtle.importKey or generateKey. Its material (an HMAC
 * key's bytes, a private key) is not reachable from the script; exportKey
 * gives it out only if the key is extractable.
 */
interface CryptoKey {
  readonly type: "secret" | "public" | "private";
  readonly extractable: boolean;
  readonly algorithm: HmacKeyAlgorithm | EcKeyAlgorithm | RsaHashedKeyAlgorithm | { name: "Ed25519" };
  readonly usages: ReadonlyArray<"sign" | "verify">;
}
interface CryptoKeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}
interface HmacKeyAlgorithm { name: "HMAC"; hash: { name: HashName }; length: number }
interface EcKeyAlgorithm { name: "ECDSA"; namedCurve: NamedCurve }
interface RsaHashedKeyAlgorithm {
  name: "RSASSA-PKCS1-v1_5" | "RSA-PSS";
  modulusLength: number;
  publicExponent: Uint8Array;
  hash: { name: HashName };
}
type BufferSource = ArrayBuffer | ArrayBufferView;
type HashName = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";
type HashAlgorithm = HashName | { name: HashName };
type NamedCurve = "P-256" | "P-384" | "P-521";
/** A JSON Web Key (RFC 7517): the members of the kinds of key importKey takes. */
interface JsonWebKey {
  kty?: "oct" | "EC" | "RSA" | "OKP";
  alg?: string; crv?: string; ext?: boolean; key_ops?: string[]; use?: string;
  k?: string; x?: string; y?: string; d?: string;
  n?: string; e?: string; p?: string; q?: string; dp?: string; dq?: string; qi?: string;
}
type ImportAlgorithm =
  | { name: "HMAC"; hash: HashAlgorithm }
  | { name: "ECDSA"; namedCurve: NamedCurve }
  | { name: "RSASSA-PKCS1-v1_5" | "RSA-PSS"; hash: HashAlgorithm }
  | "Ed25519" | { name: "Ed25519" };
type GenerateAlgorithm =
  | { name: "HMAC"; hash: HashAlgorithm; length?: number }
  | { name: "ECDSA"; namedCurve: NamedCurve }
  | { name: "RSASSA-PKCS1-v1_5" | "RSA-PSS"; hash: HashAlgorithm; modulusLength: number; publicExponent: Uint8Array }
  | "Ed25519" | { name: "Ed25519" };
type SignAlgorithm =
  | "HMAC" | { name: "HMAC" }
  | { name: "ECDSA"; hash: HashAlgorithm }
  | "RSASSA-PKCS1-v1_5" | { name: "RSASSA-PKCS1-v1_5" }
  | { name: "RSA-PSS"; saltLength: number }
  | "Ed25519" | { name: "Ed25519" };
/**
 * Web Crypto's digests, HMAC and signatures (ECDSA on P-256, P-384 and P-521,
 * RSASSA-PKCS1-v1_5, RSA-PSS, Ed25519), as Web Crypto specifies them. Keys are
 * imported as raw bytes (HMAC; ECDSA and Ed25519 public keys), SPKI, PKCS #8 or
 * JWK; other formats and algorithms reject with a NotSupportedError.
 */
interface SubtleCrypto {
  digest(algorithm: HashAlgorithm, data: BufferSource): Promise<ArrayBuffer>;
  importKey(format: "jwk", keyData: JsonWebKey, algorithm: ImportAlgorithm, extractable: boolean, usages: Array<"sign" | "verify">): Promise<CryptoKey>;
  importKey(format: "raw" | "spki" | "pkcs8", keyData: BufferSource, algorithm: ImportAlgorithm, extractable: boolean, usages: Array<"sign" | "verify">): Promise<CryptoKey>;
  exportKey(format: "jwk", key: CryptoKey): Promise<JsonWebKey>;
  exportKey(format: "raw" | "spki" | "pkcs8", key: CryptoKey): Promise<ArrayBuffer>;
  /** An HMAC key, or a key pair whose public key is always extractable. */
  generateKey(algorithm: GenerateAlgorithm, extractable: boolean, usages: Array<"sign" | "verify">): Promise<CryptoKey | CryptoKeyPair>;
  /** An ECDSA signature is r and s side by side, as Web Crypto specifies (not ASN.1). */
  sign(algorithm: SignAlgorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  /** An HMAC is compared in constant time. */
  verify(algorithm: SignAlgorithm, key: CryptoKey, signature: BufferSource, data: BufferSource): Promise<boolean>;
}
interface Crypto {
  readonly subtle: SubtleCrypto;
  /** Fills a with the host's randomness, at most 65,536 bytes at a time, and returns it. */
  getRandomValues<T extends IntegerArray>(a: T): T;
  /** A random (version 4) UUID. */
  randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
}
declare var crypto: Crypto;

/**
 * Outbound HTTP through the manifest's `http` grant, with the same egress checks as
 * for Go. Resolves to the Response whatever its status; a refused request, or one
 * that got no response, rejects with a TypeError that is a CapabilityError.
 */
declare function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
declare function atob(data: string): string;
declare function btoa(data: string): string;
declare function queueMicrotask(callback: () => void): void;
/**
 * Runs callback after delay milliseconds, while the call lasts: once the
 * response is ready, timers still queued are dropped with the call. The
 * wait counts against the function's timeout. An exception in callback is
 * logged and the call goes on. At most 10000 timers at once.
 */
declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): number;
/** Runs callback every delay milliseconds (at least 1) while the call lasts. */
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): number;
declare function clearTimeout(id?: number): void;
declare function clearInterval(id?: number): void;
/**
 * A deep copy of value: plain objects, arrays, Date, RegExp, Map, Set,
 * ArrayBuffer and its views, errors and primitives, keeping shared and
 * circular references. Functions, symbols, promises and the web API
 * objects throw a DataCloneError; a transfer list is not supported.
 */
declare function structuredClone<T>(value: T, options?: { transfer?: [] }): T;

// ---- console ----------------------------------------------------------------

/** Each call writes one line to the function's log; objects as JSON, errors with their stack. */
interface Console {
  debug(...data: unknown[]): void;
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  /** Logged at the debug level, without a stack. */
  trace(...data: unknown[]): void;
}
declare var console: Console;
