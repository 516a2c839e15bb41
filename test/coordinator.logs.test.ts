// Minimal logs (issue 5): after a few rounds over HTTP with known update values (a restart and a
// refused update among them), neither the coordinator's state folder nor its log lines hold any
// client's update values, trained values, loss, sample count, routes or registration label; the log
// lines are only of the kinds the README lists (ids, round numbers, sizes, aggregates). The same
// under a robust rule, which keeps every update of a round until it closes (in memory only).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startCoordinator, type ServeOptions } from "../src/federated/coordinator/http.js";
import { deltaArrays, smallConfig, smallSchema, tempDir, updateFrame, updatePartitions, type UpdateValues } from "./coordinator-fixtures.js";
import { encodeFrame } from "../src/federated/wire/index.js";
import { loadState } from "../src/federated/coordinator/state.js";
import { FederatedClient, type ClientEvent, type FederatedClientOptions } from "../src/federated/net-client/client.js";
import { MemoryStateStore } from "../src/federated/net-client/state.js";
import { abortableSleep } from "../src/federated/net-client/transport.js";
import { loadData } from "../src/federated/source.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { replay } from "./net-replay.js";
import type { AggregatorConfig } from "../src/federated/robust/rules.js";

/** Every line the coordinator logs starts like one of these. */
const LINE_KINDS = [
  /^started in \S+: \d+ rounds, \d+ shared and \d+ group parameters$/,
  /^resumed from \S+ at round \d+ of \d+, \d+ clients registered$/,
  /^robust aggregation: shared [a-z]+, group [a-z]+(, tensors [\w.=,]+)? \(trim [\d.]+, norm bound ([\d.]+|median), agree [\d.]+\); a round holds every accepted update until it closes$/,
  /^listening on http:\/\/127\.0\.0\.1:\d+$/,
  /^client \d+ registered \(\d+ registered\)$/,
  /^round \d+ open( \(secure, attempt \d+, threshold \d+\))?: clients [\d,]+ selected of \d+ registered$/,
  /^round \d+: masked input from client \d+ accepted \(\d+ bytes, \d+ of \d+ selected\)$/,
  /^round \d+: secure attempt \d+ aborted \([a-z-]+\); nothing applied, the round runs again$/,
  /^round \d+: clients [\d,]+ revealed wrong shares \(left out of the unmasking\)$/,
  /^round \d+: update from client \d+ accepted \(\d+ bytes, \d+ of \d+ selected\)$/,
  /^round \d+ extended \(\d+ of at least \d+ updates\): (clients [\d,]+ selected too|nobody else to select)$/,
  /^round \d+ closed: \d+ updates of \d+ selected, mean loss [\d.]+, \d+ samples, [\d.]+ s$/,
  /^refused (GET|POST) \/v1\/(secagg\/)?\w+ from client [\d-]+: \d{3} [a-z-]+$/,
  /^training finished: \d+ rounds$/,
];

/**
 * Under the rule, over HTTP: three rounds of updates with known values, a refused update and a
 * restart among them; then the state folder and the log lines are searched for them.
 */
async function plainRun(aggregator?: AggregatorConfig) {
  const t = tempDir();
  const lines: string[] = [];
  const config = smallConfig(3);
  if (aggregator) config.aggregator = aggregator;
  const opts: ServeOptions = { config, schema: smallSchema(config), stateDir: t.dir, minClients: 2, log: (l) => lines.push(l) };
  let s = await startCoordinator(opts);
  const clients: { client: number; token: string; label: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const label = `device-label-${7000 + i}`;
    const r = await fetch(`${s.url}/v1/register`, { method: "POST", body: JSON.stringify({ label }) });
    clients.push({ ...((await r.json()) as { client: number; token: string }), label });
  }
  const auth = (c: (typeof clients)[number]) => ({ "x-fedfacet-client": String(c.client), authorization: `Bearer ${c.token}` });
  const post = async (c: (typeof clients)[number], body: Uint8Array) =>
    (await fetch(`${s.url}/v1/update`, { method: "POST", headers: auth(c), body: new Uint8Array(body) })).status;
  // distinctive values: each client and round its own deltas, loss and sample count
  const sent: { v: UpdateValues; global: Float32Array }[] = [];
  const shape = s.coordinator.shape;
  for (let round = 0; round < 3; round++) {
    if (round === 1) {
      // a refused update whose routes would be a telling number
      const bad = updatePartitions(shape, { shared: 0, expert: 0, routes: [0, 0], samples: 1, loss: 1 }).map((p) => (p.name === "routes" ? { ...p, values: Int32Array.of(987654, 0) } : p));
      assert.is(await post(clients[0]!, encodeFrame({ type: "update", round, partitions: bad })), 400);
    }
    const selected = clients.filter((_, i) => round > 0 || i < 2); // round 0 opened with the first two
    for (const [i, c] of selected.entries()) {
      // sample counts of 7 digits: the state folder holds random hex (the tokens' SHA-256 in
      // clients.json), in which a 4-digit count turned up by chance (2 suite runs of 9); 7 digits
      // make that about 1e-5 a run.
      // Offsets 1, 3, 7: no client's delta is the mean of the others' (as a middle one of an
      // arithmetic progression would be, which the aggregate would then rightly hold)
      const v: UpdateValues = { shared: 0.0123457 + 0.0011 * [1, 3, 7][i]! + 0.1 * round, expert: -0.0345679 - 0.0013 * i, routes: [i % 3, (i + round) % 3], samples: 7919123 + 104 * i + round, loss: 0.4137519 + 0.0123 * i + 0.01 * round };
      sent.push({ v, global: s.coordinator.globalValues() });
      assert.is(await post(c, updateFrame(shape, round, v)), 200);
    }
    if (round === 1) {
      // the coordinator restarts between rounds
      await s.close();
      s = await startCoordinator(opts);
    }
  }
  assert.is(s.coordinator.status().finished, true);
  await s.close();

  const files = readdirSync(t.dir).sort();
  assert.equal(files, ["clients.json", "coordinator.ffck"], "nothing else in the state folder");
  const state = Buffer.concat(files.map((f) => readFileSync(join(t.dir, f))));
  const text = state.toString("latin1") + "\n" + lines.join("\n");
  const f32Run = (a: Float32Array, from: number) => Buffer.from(a.buffer, a.byteOffset + 4 * from, 16);
  for (const { v, global } of sent) {
    const d = deltaArrays(shape, v);
    // four consecutive values of the delta, or of the values the client trained (global + delta)
    const trained = Float32Array.from(d.shared, (x, j) => global[j]! + x);
    for (const at of [0, 100, d.shared.length - 4]) {
      assert.is(state.indexOf(f32Run(d.shared, at)), -1, "a client's shared delta is stored");
      assert.is(state.indexOf(f32Run(trained, at)), -1, "a client's trained shared values are stored");
    }
    for (const e of d.experts) assert.is(state.indexOf(f32Run(e, 0)), -1, "a client's expert delta is stored");
    for (const n of [v.loss.toPrecision(6), String(v.samples), Buffer.from(Float32Array.of(v.loss).buffer).toString("latin1")]) {
      assert.not.ok(text.includes(n), `a client's loss or sample count (${JSON.stringify(n)}) is stored or logged`);
    }
  }
  for (const c of clients) {
    assert.not.ok(text.includes(c.label), "a registration label is stored or logged");
    assert.not.ok(text.includes(c.token), "a token is stored or logged");
  }
  assert.not.ok(text.includes("987654"), "a refused update's content is logged");
  for (const line of lines) assert.ok(LINE_KINDS.some((k) => k.test(line)), `a log line of an unlisted kind: ${line}`);
  assert.ok(lines.some((l) => l.startsWith("refused POST /v1/update")) && lines.some((l) => l.startsWith("resumed from")), "the run had its refusal and its restart");
  assert.equal(loadState(t.dir)!.header.config.aggregator, aggregator, "the restarted run kept its rule");
  assert.is(lines.some((l) => l.startsWith("robust aggregation:")), aggregator !== undefined);
  t.remove();
}

test("no client's values, losses, sample counts, routes or labels in the state folder or the logs", () => plainRun());

// Not median here: a coordinate-wise median of three updates is, at every coordinate, one client's
// value (README "Robust aggregation over the network"), which this search would rightly find.
test("robust rule (normbound, mlp.0 by consensus): nothing per client in the state folder or the logs either", () =>
  plainRun({ shared: "normbound", group: "normbound", trim: 0.1, bound: "median", agree: 0.3, tensors: [{ pattern: "mlp.0", kind: "consensus" }] }));

test("secure rounds: no device's vector, loss or routes in the state folder or the logs, an aborted attempt included", async () => {
  const t = tempDir();
  const lines: string[] = [];
  const config = smallConfig(2);
  config.weighting = "uniform";
  const s = await startCoordinator({ config, schema: smallSchema(config), stateDir: t.dir, minClients: 3, roundDeadlineMs: 1500, secure: { bound: 0.05, threshold: 3 }, log: (l) => lines.push(l) });
  const users = [0, 5, 9];
  const stop = new AbortController();
  const trained: ClientEvent[] = [];
  const device = (user: number, more: Partial<FederatedClientOptions> = {}): FederatedClientOptions => ({
    server: s.url,
    user,
    data: loadData(config.data),
    store: new MemoryStateStore(),
    hooks: { sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal) },
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    onEvent: (e) => e.kind === "trained" && trained.push(e),
    ...more,
  });
  let gone = false;
  // the third device vanishes at its first unmask response: that attempt aborts below the threshold
  const third = device(users[2]!, {
    signal: stop.signal,
    hooks: {
      sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal),
      fetch: async (url, init) => {
        if (!gone && init?.method === "POST" && String(url).endsWith("/v1/secagg/unmask")) {
          gone = true;
          stop.abort();
          throw new Error("device gone");
        }
        return fetch(url, init);
      },
    },
  });
  const runs = [new FederatedClient(device(users[0]!)).run(), new FederatedClient(device(users[1]!)).run(), new FederatedClient(third).run()];
  await runs[2];
  const summaries = await Promise.all([runs[0]!, runs[1]!, new FederatedClient({ ...third, signal: undefined }).run()]);
  assert.ok(summaries.every((x) => x.finished));
  await s.close();
  assert.ok(lines.some((l) => /secure attempt 0 aborted/.test(l)), "the run had its aborted attempt");

  const files = readdirSync(t.dir).sort();
  assert.equal(files, ["clients.json", "coordinator.ffck"], "nothing else in the state folder");
  const state = Buffer.concat(files.map((f) => readFileSync(join(t.dir, f))));
  const text = state.toString("latin1") + "\n" + lines.join("\n");
  const inputs: Uint32Array[] = [];
  const saved = loadState(t.dir)!;
  const ids = new Map(summaries.map((x, i) => [x.client, users[i]!]));
  replay({ config, ds: loadData(config.data), history: saved.header.history, userOf: (id) => ids.get(id)!, be: await loadWasmBackend(), secure: { bound: 0.05, onInput: (_r, _c, x) => inputs.push(x) } });
  assert.is(inputs.length, 6);
  for (const x of inputs) {
    // runs of four consecutive elements that are all far from 0 (untouched rows and unchosen experts are 0 in every vector)
    const telling = [...x.keys()].filter((j) => j + 4 <= x.length && [0, 1, 2, 3].every((d) => Math.abs(x[j + d]! | 0) > 1000));
    assert.ok(telling.length >= 3);
    for (const at of [telling[0]!, telling[telling.length >> 1]!, telling[telling.length - 1]!]) assert.is(state.indexOf(Buffer.from(x.buffer, 4 * at, 16)), -1, "a device's vector is stored");
  }
  for (const e of trained) {
    if (e.kind !== "trained") continue;
    for (const n of [e.loss.toPrecision(6), Buffer.from(Float32Array.of(e.loss).buffer).toString("latin1")]) assert.not.ok(text.includes(n), `a device's loss (${JSON.stringify(n)}) is stored or logged`);
  }
  for (const line of lines) assert.ok(LINE_KINDS.some((k) => k.test(line)), `a log line of an unlisted kind: ${line}`);
  t.remove();
});

test.run();
