// Secure aggregation over loopback HTTP: devices (FederatedClient) in this process against
// `startCoordinator({ secure })`. The coordinator's model equals the replay that sums the devices'
// quantised vectors plainly mod 2^32 (so the unmasked sum is exact in the integers); dropouts after
// sharing keys and after the masked input at the threshold still finish with the survivors' sum;
// below the threshold the attempt aborts with nothing applied and the round runs again; and nothing
// the coordinator holds during or after a round is one device's vector.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { startCoordinator, type RunningCoordinator, type ServeOptions } from "../src/federated/coordinator/http.js";
import { loadState } from "../src/federated/coordinator/state.js";
import { FederatedClient } from "../src/federated/net-client/client.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { decodeFrame } from "../src/federated/wire/index.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { someValues, updateFrame } from "./coordinator-fixtures.js";
import { replay } from "./net-replay.js";
import { device, isPost, vanishAt } from "./net-device-fixtures.js";

const BOUND = 0.05;

function tinyRun(rounds: number): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  c.rounds = rounds;
  c.weighting = "uniform";
  return c;
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-secnet-"));
  dirs.push(d);
  return d;
}

function serve(config: TrainConfig, stateDir: string, extra: Partial<ServeOptions> = {}): Promise<RunningCoordinator> {
  return startCoordinator({ config, schema: schemaOfSource(config.data), stateDir, roundDeadlineMs: 30_000, secure: { bound: BOUND }, ...extra });
}

async function replayed(config: TrainConfig, stateDir: string, users: Map<number, number>, onInput?: (round: number, client: number, input: Uint32Array) => void) {
  const saved = loadState(stateDir)!;
  const global = replay({
    config,
    ds: loadData(config.data),
    history: saved.header.history,
    userOf: (id) => users.get(id)!,
    be: await loadWasmBackend(),
    secure: { bound: BOUND, onInput },
  });
  return { saved, global };
}

/** Every typed array reachable from `root` (own fields, Maps, Sets, arrays), copied. */
function typedArraysIn(root: unknown): ArrayLike<number>[] {
  const seen = new Set<unknown>();
  const out: ArrayLike<number>[] = [];
  const walk = (v: unknown): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!(v instanceof DataView)) out.push((v as unknown as Uint32Array).slice());
      return;
    }
    if (v instanceof Map) for (const [k, x] of v) (walk(k), walk(x));
    else if (v instanceof Set || Array.isArray(v)) for (const x of v) walk(x);
    else for (const x of Object.values(v)) walk(x);
  };
  walk(root);
  return out;
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => x === b[i]);

test("secure rounds: the model equals the plain integer sum of the devices' quantised vectors; the coordinator never holds one", async () => {
  const config = tinyRun(2);
  const dir = tmp();
  const running = await serve(config, dir, { minClients: 3 });
  const users = [0, 4, 9];
  const snapshots: ArrayLike<number>[][] = [];
  const maskedSeen: { client: number; masked: Uint32Array }[] = [];
  try {
    const devices = users.map((u) =>
      device(running.url, u, config, (url, init) => {
        if (isPost(url, init, "/v1/secagg/masked")) {
          const frame = decodeFrame(init!.body as Uint8Array);
          maskedSeen.push({ client: Number((init!.headers as Record<string, string>)["x-fedfacet-client"]), masked: frame.partitions[0]!.values as Uint32Array });
        }
        // every masked input is in by the first unmask response: what does the coordinator hold?
        if (isPost(url, init, "/v1/secagg/unmask")) snapshots.push(typedArraysIn(running.coordinator));
      }),
    );
    const summaries = await Promise.all(devices.map((d) => d.run()));
    for (const s of summaries) assert.ok(s.finished && s.accepted.length === 2, JSON.stringify(s));
    for (const d of devices) for (const r of [0, 1]) assert.equal(d.events.filter((e) => "round" in e && e.round === r && e.kind !== "registered").map((e) => e.kind), ["task", "trained", "accepted", "aggregated"]);
    const inputs: { round: number; client: number; input: Uint32Array }[] = [];
    const ids = new Map(summaries.map((s, i) => [s.client, users[i]!]));
    const { saved, global } = await replayed(config, dir, ids, (round, client, input) => inputs.push({ round, client, input }));
    assert.equal(saved.header.history.map((h) => h.accepted), [[1, 2, 3], [1, 2, 3]]);
    assert.equal(running.coordinator.globalValues(), global, "the coordinator's model differs from the plain sum of the quantised vectors");
    assert.equal(saved.global, global);
    // what crossed the network is no device's vector, and nothing the coordinator held was one
    assert.is(maskedSeen.length, 6);
    assert.is(inputs.length, 6);
    for (const { round, client, input } of inputs) {
      // three masked inputs per round, every one in before the round closes
      const sent = maskedSeen.slice(3 * round, 3 * round + 3).find((m) => m.client === client)!;
      let equal = 0;
      for (let j = 0; j < input.length; j++) if (sent.masked[j] === input[j]) equal++;
      assert.ok(equal < input.length / 100, `client ${client}'s masked vector matches its input at ${equal} of ${input.length} places`);
    }
    assert.ok(snapshots.length >= 2);
    for (const held of snapshots) for (const { input } of inputs) assert.not.ok(held.some((a) => same(a, input)), "the coordinator holds a device's vector");
  } finally {
    await running.close();
  }
});

test("dropouts after sharing keys and after the masked input, down to the threshold: the survivors' sum is applied", async () => {
  const config = tinyRun(1);
  const dir = tmp();
  const running = await serve(config, dir, { minClients: 5, roundDeadlineMs: 1500, secure: { bound: BOUND, threshold: 3 } });
  const users = [1, 2, 3, 5, 8];
  try {
    const devices: ReturnType<typeof device>[] = [];
    // user 2 vanishes before its masked input (its pairwise masks come out through its key shares);
    // user 3 after it (its input counts, its unmask shares never come)
    const vanish: Record<number, string> = { 2: "/v1/secagg/masked", 3: "/v1/secagg/unmask" };
    for (const [i, u] of users.entries()) devices.push(device(running.url, u, config, vanish[u] ? vanishAt(vanish[u]!, () => devices[i]!) : undefined));
    const summaries = await Promise.all(devices.map((d) => d.run()));
    const ids = new Map(summaries.map((s, i) => [s.client, users[i]!]));
    const saved = loadState(dir)!;
    assert.is(saved.header.history.length, 1);
    const idOf = (u: number) => summaries[users.indexOf(u)]!.client;
    assert.equal(saved.header.history[0]!.accepted, users.filter((u) => u !== 2).map(idOf).sort((a, b) => a - b));
    assert.is(saved.header.history[0]!.aborted, 0);
    const { global } = await replayed(config, dir, ids);
    assert.equal(saved.global, global);
  } finally {
    await running.close();
  }
});

test("below the threshold the attempt aborts, nothing is applied, and the round runs again", async () => {
  const config = tinyRun(1);
  const dir = tmp();
  const aborts: { history: number; global: Float32Array }[] = [];
  let running!: RunningCoordinator;
  running = await serve(config, dir, {
    minClients: 3,
    roundDeadlineMs: 1500,
    secure: { bound: BOUND, threshold: 3 },
    log: (line) => {
      if (line.includes("aborted")) aborts.push({ history: running.coordinator.status().last === null ? 0 : 1, global: running.coordinator.globalValues() });
    },
  });
  const initial = running.coordinator.globalValues();
  const users = [0, 6, 7];
  try {
    const devices: ReturnType<typeof device>[] = [];
    for (const [i, u] of users.entries()) devices.push(device(running.url, u, config, u === 7 ? vanishAt("/v1/secagg/unmask", () => devices[i]!) : undefined));
    const first = devices.map((d) => d.run());
    const gone = await first[2]!;
    assert.not.ok(gone.finished);
    // the device comes back (same store, same registration) for the round's next attempt
    const back = new FederatedClient({ ...devices[2]!.opts, signal: undefined });
    const summaries = await Promise.all([first[0]!, first[1]!, back.run()]);
    assert.is(aborts.length, 1, "one attempt aborted");
    assert.is(aborts[0]!.history, 0);
    assert.equal(aborts[0]!.global, initial, "an aborted attempt changed the model");
    const saved = loadState(dir)!;
    assert.is(saved.header.history.length, 1);
    assert.is(saved.header.history[0]!.aborted, 1);
    assert.equal(saved.header.history[0]!.accepted, summaries.map((s) => s.client).sort((a, b) => a - b));
    // the first attempt's training was dropped: every device trained round 0 again
    for (const d of devices.slice(0, 2)) assert.ok(d.events.some((e) => e.kind === "lost" && e.round === 0));
    const { global } = await replayed(config, dir, new Map(summaries.map((s, i) => [s.client, users[i]!])));
    assert.equal(saved.global, global);
  } finally {
    await running.close();
  }
});

test("over HTTP: a plain update in a secure round, a secure message without one, a bad token, an oversized or empty body are refused", async () => {
  const config = tinyRun(1);
  const running = await serve(config, tmp(), { minClients: 3 });
  try {
    const reg = await Promise.all([0, 1, 2].map(async () => (await (await fetch(`${running.url}/v1/register`, { method: "POST", body: "{}" })).json()) as { client: number; token: string }));
    const auth = (r: { client: number; token: string }) => ({ "x-fedfacet-client": String(r.client), authorization: `Bearer ${r.token}` });
    const call = async (method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string) => {
      const res = await fetch(`${running.url}${path}`, { method, headers, body: body as BodyInit | undefined });
      const text = await res.text();
      return { status: res.status, error: text ? ((JSON.parse(text) as { error?: string }).error ?? "") : "" };
    };
    const before = JSON.stringify(running.coordinator.status());
    assert.equal(await call("POST", "/v1/update", auth(reg[0]!), new Uint8Array(64)), { status: 400, error: "bad-magic" });
    const task = await fetch(`${running.url}/v1/task`, { headers: auth(reg[0]!) });
    assert.is(task.status, 200);
    const frame = new Uint8Array(await task.arrayBuffer());
    // the task itself is a valid frame; sent back as an update it is the wrong type, and a real update the wrong kind of round
    assert.equal(await call("POST", "/v1/update", auth(reg[0]!), frame), { status: 400, error: "bad-type" });
    assert.equal(await call("POST", "/v1/update", auth(reg[0]!), updateFrame(running.coordinator.shape, 0, someValues(0))), { status: 409, error: "secure-round" });
    assert.equal(await call("POST", "/v1/secagg/keys", auth(reg[1]!), "{}"), { status: 400, error: "bad-message" });
    assert.equal(await call("POST", "/v1/secagg/keys", { ...auth(reg[1]!), authorization: "Bearer 00" }, "{}"), { status: 401, error: "bad-token" });
    assert.equal(await call("POST", "/v1/secagg/shares", auth(reg[1]!), "x".repeat(running.coordinator.secureBodyLimit("shares") + 1)), { status: 413, error: "too-large" });
    assert.equal(await call("GET", "/v1/secagg/masked", auth(reg[1]!)), { status: 405, error: "method-not-allowed" });
    assert.equal(await call("POST", "/v1/secagg/masked", auth(reg[1]!), new Uint8Array(0)), { status: 400, error: "truncated" });
    assert.is((await call("GET", "/v1/secagg/keys", auth(reg[2]!))).status, 204);
    assert.is(JSON.stringify(running.coordinator.status()), before, "a refused request changed the round");
  } finally {
    await running.close();
  }
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
