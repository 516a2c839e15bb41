// The device's HTTP layer retries network errors, timeouts and 5xx with growing, jittered delays
// (honouring retry-after), returns every other status to the caller, and gives up only when told;
// its state stores give back exactly what they were given.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backoffDelay, retryAfterMs, Transport, TransportError } from "../src/federated/net-client/transport.js";
import { FileStateStore } from "../src/federated/net-client/file-store.js";
import { DEFAULT_CONFIG } from "../src/model/build.js";
import { freshState, MemoryStateStore, type ClientState } from "../src/federated/net-client/state.js";

type Step = Response | Error;

/** A fetch that plays `steps` in order and records the URLs, and a sleep that records its delays. */
function scripted(steps: Step[]) {
  const urls: string[] = [];
  const delays: number[] = [];
  const hooks = {
    fetch: (async (url: string | URL | Request) => {
      urls.push(String(url));
      const s = steps.shift();
      if (!s) throw new Error("script exhausted");
      if (s instanceof Error) throw s;
      return s;
    }) as typeof fetch,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
    random: () => 0.5,
  };
  return { urls, delays, hooks };
}

test("backoffDelay: within [step/2, step] of a doubling step capped at maxDelayMs", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), (attempt, r, base, max) => {
      const step = Math.min(max, base * 2 ** attempt);
      const d = backoffDelay(attempt, { baseDelayMs: base, maxDelayMs: max }, () => r);
      return Number.isFinite(d) && d >= step / 2 && d <= step;
    }),
  );
  const o = { baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal([0, 1, 2, 3, 4, 60].map((a) => backoffDelay(a, o, () => 0)), [50, 100, 200, 400, 500, 500]);
});

test("retry-after: seconds or an HTTP date; absent or garbage gives null", () => {
  const h = (v?: string) => new Headers(v === undefined ? {} : { "retry-after": v });
  assert.is(retryAfterMs(h("3")), 3000);
  assert.is(retryAfterMs(h("0.5")), 500);
  assert.is(retryAfterMs(h(new Date(10_000).toUTCString()), 4_000), 6_000);
  assert.is(retryAfterMs(h()), null);
  assert.is(retryAfterMs(h("soon")), null);
  assert.is(retryAfterMs(h("")), null);
});

test("network errors and 5xx are retried with growing delays; the first answer below 500 is returned", async () => {
  const s = scripted([
    new TypeError("fetch failed"),
    new Response(JSON.stringify({ error: "busy" }), { status: 503 }),
    new Response("", { status: 500 }),
    new Response(JSON.stringify({ error: "unknown-client" }), { status: 401 }),
  ]);
  const retries: string[] = [];
  const t = new Transport("http://127.0.0.1:9/", { baseDelayMs: 100, maxDelayMs: 10_000 }, { ...s.hooks, onRetry: (_a, _d, why) => retries.push(why) });
  const r = await t.request("GET", "/v1/task");
  assert.is(r.status, 401);
  assert.equal(s.urls, Array(4).fill("http://127.0.0.1:9/v1/task"));
  assert.equal(s.delays, [75, 150, 300]);
  assert.match(retries[0]!, /TypeError: fetch failed/);
  assert.is(retries[1], "HTTP 503: busy");
});

test("a 5xx with retry-after waits at least that long", async () => {
  const s = scripted([new Response("", { status: 503, headers: { "retry-after": "7" } }), new Response("ok", { status: 200 })]);
  const r = await new Transport("http://x.test", {}, s.hooks).request("POST", "/v1/update", { body: new Uint8Array([1, 2]) });
  assert.is(r.status, 200);
  assert.equal([...r.body], [...new TextEncoder().encode("ok")]);
  assert.equal(s.delays, [7000]);
});

test("maxAttempts ends the retries with a TransportError naming the last failure; a stop signal ends them at once", async () => {
  const s = scripted([new TypeError("fetch failed"), new TypeError("fetch failed"), new Response("", { status: 502 })]);
  const t = new Transport("http://x.test", { maxAttempts: 3 }, s.hooks);
  await t.request("GET", "/v1/status").then(
    () => assert.unreachable("should fail"),
    (e: unknown) => {
      assert.instance(e, TransportError);
      assert.match(String(e), /failed 3 times, last: HTTP 502/);
    },
  );
  const stop = new AbortController();
  stop.abort();
  await new Transport("http://x.test", {}, scripted([]).hooks).request("GET", "/v1/task", { signal: stop.signal }).then(
    () => assert.unreachable("should stop"),
    (e: unknown) => assert.match(String(e), /stopped/),
  );
});

test("a hung connection times out and is retried", async () => {
  let calls = 0;
  const hang = (async (_u: unknown, init?: RequestInit) => {
    calls++;
    if (calls === 1) {
      return new Promise<Response>((_res, rej) => init!.signal!.addEventListener("abort", () => rej(init!.signal!.reason)));
    }
    return new Response(null, { status: 204 });
  }) as typeof fetch;
  const t = new Transport("http://x.test", { timeoutMs: 50 }, { fetch: hang, sleep: async () => {}, random: () => 0 });
  // AbortSignal.timeout's timer does not keep Node alive (a real hung socket would): this does
  const alive = setTimeout(() => {}, 10_000);
  try {
    assert.is((await t.request("GET", "/v1/task")).status, 204);
  } finally {
    clearTimeout(alive);
  }
  assert.is(calls, 2);
});

test("server URLs must be http(s) URLs", () => {
  assert.throws(() => new Transport("not a url"), /'not a url' is not a URL/);
  assert.throws(() => new Transport("ftp://x"), /must be http or https/);
  assert.is(new Transport("http://h:1/base///").base, "http://h:1/base");
});

function fullState(): ClientState {
  return {
    user: 42,
    registration: { client: 7, token: "ab12", config: { regime: "mrff", model: DEFAULT_CONFIG, local: { localSteps: 1, optimizer: "adam", lr: 0.1, weightDecay: 0 }, seed: 3, weighting: "uniform", rounds: 9, data: { kind: "folder" } }, schema: { userFields: [{ name: "u", cardinality: 3 }], itemFields: [] } },
    round: 3,
    private: Float32Array.from([1.5, -2, 0, 3e-8]),
    residuals: { shared: Float32Array.from([0.25, -0.5]), "group.0.1": new Float32Array(3) },
    pending: { round: 4, private: Float32Array.from([9, 8, 7, 6]), residuals: { shared: Float32Array.from([1, 2]) } },
  };
}

test("the memory and file stores give back what was saved, and hold copies", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-state-"));
  try {
    for (const store of [new MemoryStateStore(), new FileStateStore(join(dir, "device.state"))]) {
      assert.is(await store.load(), null);
      const s = fullState();
      await store.save(s);
      s.private![0] = 99;
      assert.equal(await store.load(), fullState());
      await store.save(freshState(5));
      assert.equal(await store.load(), freshState(5));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a file that is no client state is refused with its path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-state-"));
  try {
    const p = join(dir, "junk.state");
    writeFileSync(p, "hello");
    await new FileStateStore(p).load().then(
      () => assert.unreachable("should fail"),
      (e: unknown) => assert.match(String(e), new RegExp(`${p}: not a fedfacet checkpoint`)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
