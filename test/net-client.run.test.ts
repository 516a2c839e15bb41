// Devices (FederatedClient) against a coordinator in the same process over loopback HTTP: the
// coordinator's model equals the in-process replay of the updates it aggregated; an update that a
// coordinator restart lost is trained again without its private values counted twice; a
// coordinator that does not know the device any more gets a new registration.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { startCoordinator, type RunningCoordinator, type ServeOptions } from "../src/federated/coordinator/http.js";
import { loadState } from "../src/federated/coordinator/state.js";
import { FederatedClient, type ClientEvent, type FederatedClientOptions } from "../src/federated/net-client/client.js";
import { MemoryStateStore } from "../src/federated/net-client/state.js";
import { abortableSleep } from "../src/federated/net-client/transport.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { replay } from "./net-replay.js";

function tinyRun(rounds: number): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  c.rounds = rounds;
  return c;
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-net-"));
  dirs.push(d);
  return d;
}

function serve(config: TrainConfig, stateDir: string, extra: Partial<ServeOptions> = {}): Promise<RunningCoordinator> {
  return startCoordinator({ config, schema: schemaOfSource(config.data), stateDir, roundDeadlineMs: 30_000, ...extra });
}

/** A device of `config`'s data with fast waits (retry-after is seconds; the tests need not wait them out). */
function device(url: string, user: number, config: TrainConfig, more: Partial<FederatedClientOptions> = {}) {
  const events: ClientEvent[] = [];
  const store = new MemoryStateStore();
  const ds = loadData(config.data);
  const opts: FederatedClientOptions = {
    server: url,
    user,
    data: ds,
    store,
    hooks: { sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal) },
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    onEvent: (e) => events.push(e),
    ...more,
  };
  return { events, store, opts, client: () => new FederatedClient(opts) };
}

const kinds = (events: ClientEvent[], round: number) => events.filter((e) => "round" in e && e.round === round && e.kind !== "registered").map((e) => e.kind);

/** The coordinator's saved model and history, and the replay of that history. */
async function replayed(config: TrainConfig, stateDir: string, users: Map<number, number>) {
  const saved = loadState(stateDir)!;
  const ds = loadData(config.data);
  const global = replay({
    config,
    ds,
    history: saved.header.history,
    userOf: (id) => {
      const u = users.get(id);
      if (u === undefined) throw new Error(`no device registered as client ${id}`);
      return u;
    },
    be: await loadWasmBackend(),
  });
  return { saved, global };
}

test("three devices train three rounds; the coordinator's model is the replay of the updates it aggregated", async () => {
  const config = tinyRun(3);
  const dir = tmp();
  const running = await serve(config, dir, { minClients: 3 });
  try {
    const devices = [0, 4, 9].map((u) => device(running.url, u, config));
    const summaries = await Promise.all(devices.map((d) => d.client().run()));
    for (const s of summaries) {
      assert.ok(s.finished);
      assert.equal(s.accepted, [0, 1, 2]);
    }
    // every round's update was aggregated before training moved on
    for (const d of devices) for (const r of [0, 1, 2]) assert.equal(kinds(d.events, r), ["task", "trained", "accepted", "aggregated"], `round ${r}`);
    const users = new Map(summaries.map((s, i) => [s.client, [0, 4, 9][i]!]));
    const { saved, global } = await replayed(config, dir, users);
    assert.equal(saved.header.history.map((h) => h.accepted), [[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    assert.equal(saved.global, global, "the coordinator's model differs from the replay");
    assert.equal(running.coordinator.globalValues(), global);
  } finally {
    await running.close();
  }
});

test("an update a coordinator restart lost is trained again from the same private values", async () => {
  const config = tinyRun(2);
  const dir = tmp();
  let running = await serve(config, dir, { minClients: 2 });
  const port = Number(new URL(running.url).port);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  try {
    const a = device(running.url, 1, config, { maxRounds: 1 });
    // b registers (so that round 0 opens with both) but waits for its data until after the restart
    const ds = loadData(config.data);
    const b = device(running.url, 2, config, { data: async () => (await gate, ds) });
    const bRun = b.client().run();
    const first = await a.client().run();
    assert.equal(first.accepted, [0]);
    await running.close();
    running = await serve(config, dir, { minClients: 2, port });
    release();
    const [again, bDone] = await Promise.all([new FederatedClient({ ...a.opts, maxRounds: undefined }).run(), bRun]);
    assert.ok(again.finished && bDone.finished);
    // the first acceptance died with the coordinator: dropped, retrained, then aggregated
    assert.equal(kinds(a.events, 0), ["task", "trained", "accepted", "lost", "task", "trained", "accepted", "aggregated"]);
    const users = new Map([[first.client, 1], [bDone.client, 2]]);
    const { saved, global } = await replayed(config, dir, users);
    assert.equal(saved.header.history.map((h) => h.accepted), [[1, 2], [1, 2]]);
    assert.equal(saved.global, global, "the restarted coordinator's model differs from the replay");
  } finally {
    release();
    await running.close();
  }
});

test("a coordinator that does not know the device any more gets a new registration, and the device keeps its values", async () => {
  const config = tinyRun(1);
  const first = await serve(config, tmp());
  const port = Number(new URL(first.url).port);
  const d = device(first.url, 3, config);
  let second: RunningCoordinator | null = null;
  try {
    assert.ok((await d.client().run()).finished);
    const before = await d.store.load();
    assert.ok(before!.private && before!.round === 0);
    await first.close();
    // a fresh state folder: the new coordinator has never heard of client 1
    second = await serve(config, tmp(), { port });
    assert.ok((await d.client().run()).finished);
    assert.equal(d.events.filter((e) => e.kind === "registered").length, 2);
    const after = await d.store.load();
    assert.is(after!.registration!.client, 1);
    assert.not.equal(after!.registration!.token, before!.registration!.token);
    // both runs' round 0 has the same task (same seed): values trained from the initial private
    // values again would equal the first run's; from the kept ones they move on
    assert.not.equal(after!.private, before!.private);
  } finally {
    await first.close();
    await second?.close();
  }
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
