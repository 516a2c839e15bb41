// HTTP for a device (fetch only, so it runs in browsers and Node alike): every request retries on
// network errors, timeouts and 5xx answers with exponential backoff and jitter, so a coordinator
// that restarts or is briefly overloaded costs waiting, not a lost device. Any other status is the
// caller's to interpret.

export interface RetryOptions {
  /** Delay cap of the first retry (ms); it doubles with every failed attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts of one request before it fails (Infinity: keep trying). */
  maxAttempts: number;
  /** Per-attempt timeout (ms): a hung connection counts as a network error. */
  timeoutMs: number;
}

export const RETRY_DEFAULTS: Readonly<RetryOptions> = { baseDelayMs: 250, maxDelayMs: 15_000, maxAttempts: Infinity, timeoutMs: 60_000 };

export interface TransportHooks {
  fetch: typeof fetch;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1): the jitter. */
  random: () => number;
  /** Called before each wait for a retry. */
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** The request failed for good (attempts exhausted, or stopped by the caller's signal). */
export class TransportError extends Error {
  override readonly name = "TransportError";
}

/**
 * Delay before retry `attempt` (0-based): half the capped exponential step plus a random part of
 * the other half ("equal jitter"), so devices that failed together do not come back together, yet
 * none retries at once.
 */
export function backoffDelay(attempt: number, o: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
  const step = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(attempt, 52));
  return step / 2 + random() * (step / 2);
}

/** Seconds of a retry-after header (integer seconds, or an HTTP date), as ms; null if absent or bad. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const v = headers.get("retry-after");
  if (v === null || v.trim() === "") return null;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : null;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export class Transport {
  readonly base: string;
  private readonly retry: RetryOptions;
  private readonly hooks: TransportHooks;

  constructor(server: string, retry: Partial<RetryOptions> = {}, hooks: Partial<TransportHooks> = {}) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new RangeError(`server URL '${server}' is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new RangeError(`server URL '${server}' must be http or https`);
    this.base = url.href.replace(/\/+$/, "");
    this.retry = { ...RETRY_DEFAULTS, ...retry };
    if (!(this.retry.maxAttempts >= 1)) throw new RangeError(`maxAttempts must be >= 1, got ${this.retry.maxAttempts}`);
    this.hooks = { fetch: globalThis.fetch.bind(globalThis), sleep: abortableSleep, random: Math.random, ...hooks };
  }

  /** Sends until an answer below 500 arrives (any such status is returned, not thrown). */
  async request(method: "GET" | "POST", path: string, init: { body?: Uint8Array | string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Reply> {
    const { signal } = init;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new TransportError(`${method} ${path}: stopped`);
      let reason: string;
      let wait: number | null = null;
      try {
        const timeout = AbortSignal.timeout(this.retry.timeoutMs);
        const res = await this.hooks.fetch(this.base + path, {
          method,
          headers: init.headers,
          body: init.body as BodyInit | undefined,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status < 500) return { status: res.status, headers: res.headers, body };
        reason = `HTTP ${res.status}${describe(body)}`;
        wait = retryAfterMs(res.headers);
      } catch (e) {
        if (signal?.aborted) throw new TransportError(`${method} ${path}: stopped`);
        reason = e instanceof Error ? `${e.name}: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}` : String(e);
      }
      if (attempt + 1 >= this.retry.maxAttempts) throw new TransportError(`${method} ${this.base}${path} failed ${attempt + 1} times, last: ${reason}`);
      const delay = Math.max(wait ?? 0, backoffDelay(attempt, this.retry, this.hooks.random));
      this.hooks.onRetry?.(attempt + 1, delay, reason);
      try {
        await this.hooks.sleep(delay, signal);
      } catch {
        throw new TransportError(`${method} ${path}: stopped`);
      }
    }
  }
}

/** ": <error code>" of a JSON error body, for messages. */
function describe(body: Uint8Array): string {
  try {
    const j = JSON.parse(new TextDecoder().decode(body)) as { error?: unknown };
    return typeof j.error === "string" ? `: ${j.error}` : "";
  } catch {
    return "";
  }
}
