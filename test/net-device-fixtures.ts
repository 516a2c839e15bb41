// Devices (FederatedClient) for loopback-HTTP tests: fast waits and retries, events recorded, and
// a hook that sees (and may stop) each request before it leaves.
import type { TrainConfig } from "../src/federated/config.js";
import { type ClientEvent, type FederatedClientOptions, FederatedClient } from "../src/federated/net-client/client.js";
import { MemoryStateStore } from "../src/federated/net-client/state.js";
import { abortableSleep } from "../src/federated/net-client/transport.js";
import { loadData } from "../src/federated/source.js";

export type Intercept = (url: string, init: RequestInit | undefined) => void | Promise<void>;

/** A device with fast waits; `intercept` sees each request before it goes out (and may stop the device). */
export function device(url: string, user: number, config: TrainConfig, intercept?: Intercept, more: Partial<FederatedClientOptions> = {}) {
  const events: ClientEvent[] = [];
  const stop = new AbortController();
  const fetchVia: typeof fetch = async (input, init) => {
    await intercept?.(String(input), init);
    return fetch(input, init);
  };
  const opts: FederatedClientOptions = {
    server: url,
    user,
    data: loadData(config.data),
    store: new MemoryStateStore(),
    hooks: { fetch: fetchVia, sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal) },
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    onEvent: (e) => events.push(e),
    signal: stop.signal,
    ...more,
  };
  return { events, opts, stop, run: () => new FederatedClient(opts).run() };
}

export const isPost = (url: string, init: RequestInit | undefined, path: string) => init?.method === "POST" && url.endsWith(path);

/** A device that vanishes (its loop stops, its request never leaves) at its first POST of `path`. */
export function vanishAt(path: string, d: () => { stop: AbortController }): Intercept {
  let gone = false;
  return (url, init) => {
    if (gone || !isPost(url, init, path)) return;
    gone = true;
    d().stop.abort();
    throw new Error("device gone");
  };
}

