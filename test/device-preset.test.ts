// The device preset off the simulator: devices over HTTP start their user bias and personal table
// from their own history as the in-process engine starts them, so a networked run ends with the
// model and private values of the replay from the engine's starting values (and not of a replay
// from the generic ones); and the on-device scorer adds the bias and the personal table as
// evaluation does.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParamStore } from "../src/autograd/params.js";
import { loadArray } from "../src/federated/checkpoint.js";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { startCoordinator } from "../src/federated/coordinator/http.js";
import { loadState } from "../src/federated/coordinator/state.js";
import { DeviceScorer, deviceState } from "../src/federated/device.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { RoundTrainer } from "../src/federated/net-client/round-trainer.js";
import { applyPreset } from "../src/federated/presets.js";
import { PRIVATE_DEFAULTS } from "../src/federated/private-training.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { readRunCheckpoint, train } from "../src/federated/trainer.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { createModel, PERSONAL_BIAS, schemaOf, USER_BIAS } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";
import { device } from "./net-device-fixtures.js";
import { replay } from "./net-replay.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-devpreset-"));
  dirs.push(d);
  return d;
}

function devicePreset(users: number, rounds: number): TrainConfig {
  const c = defaultConfig("mrff");
  applyPreset(c, "device");
  c.data = { kind: "synthetic", options: { users, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  c.rounds = rounds;
  c.chunk = 4;
  return c;
}

/** Offsets of the user bias and the personal table in the private partition of `config`'s model. */
async function privateLayout(config: TrainConfig) {
  const be = await loadWasmBackend();
  const store = new ParamStore(be, createModel(config.model, schemaOf(loadData(config.data))).specs, new Rng(0));
  const bias = store.slice(USER_BIAS);
  const table = store.slice(PERSONAL_BIAS);
  store.dispose();
  assert.is(bias.partition, "private");
  assert.is(table.partition, "private");
  return { bias: bias.start, table: table.start, tableSize: table.size };
}

test("device preset over HTTP: the coordinator's model and the devices' private values are the replay's from the in-process engine's starting values", async () => {
  const config = devicePreset(12, 3);
  assert.is(config.local.private?.biasInit, "click-rate");
  assert.is(config.averaging, "touched");
  // the in-process engine's starting private values, every user's
  const engine = await FederatedEngine.create(config, 0);
  let start: Float32Array;
  try {
    start = loadArray(engine.save().privates!) as Float32Array;
  } finally {
    await engine.close();
  }
  const P = engine.params.private;
  const own = (u: number) => start.slice(u * P, (u + 1) * P);
  const lay = await privateLayout(config);
  const users = [0, 4, 9];
  // the starting values are the users' own: biases and tables differ between them
  assert.not.equal(own(0)[lay.bias], own(4)[lay.bias]);
  assert.not.equal(own(0).subarray(lay.table, lay.table + lay.tableSize), own(9).subarray(lay.table, lay.table + lay.tableSize));

  const dir = tmp();
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, minClients: 3, roundDeadlineMs: 30_000 });
  try {
    const devices = users.map((u) => device(running.url, u, config));
    const summaries = await Promise.all(devices.map((d) => d.run()));
    for (const s of summaries) assert.ok(s.finished && s.accepted.length === 3, JSON.stringify(s));
    const userOf = new Map(summaries.map((s, i) => [s.client, users[i]!]));
    const saved = loadState(dir)!;
    const ds = loadData(config.data);
    const be = await loadWasmBackend();
    const privates = new Map<number, Float32Array>();
    const base = { config, ds, history: saved.header.history, userOf: (id: number) => userOf.get(id)!, be };
    const global = replay({ ...base, initialPrivate: own, privates });
    assert.equal(saved.header.history.map((h) => h.accepted.length), [3, 3, 3]);
    assert.equal(saved.global, global, "the coordinator's model differs from the replay from the engine's starting values");
    for (const [i, d] of devices.entries()) {
      const state = await d.opts.store!.load();
      assert.equal(state!.private, privates.get(users[i]!), `device of user ${users[i]}: its private values differ from the replay's`);
    }
    // the check has teeth: devices that started from the generic values would have given another model
    const generic = RoundTrainer.create({ model: config.model, local: { ...config.local, private: { ...PRIVATE_DEFAULTS, ...config.local.private, biasInit: "zero" } }, seed: config.seed }, ds, be);
    assert.not.equal(replay({ ...base, initialPrivate: (u) => generic.initialPrivate(u) }), global);
  } finally {
    await running.close();
  }
});

test("device preset: the on-device scorer gives evaluation's test prediction, the user bias and personal table included", async () => {
  const config = devicePreset(24, 2);
  const out = tmp();
  const r = await train(config, { workers: 0, out });
  const ck = readRunCheckpoint(out);
  const ds = loadData(config.data);
  const F = ds.userFields.length;
  const lay = await privateLayout(config);
  for (const u of [0, 11, 23]) {
    const state = deviceState(ck, u);
    const start = ds.seqStart[u]!;
    const end = ds.seqStart[u + 1]!;
    const request = {
      history: ds.seqItems.subarray(start, end - 1),
      clicks: ds.seqLabels.subarray(start, end - 1),
      userCodes: ds.userFeatures.subarray(u * F, (u + 1) * F),
      itemFeatures: ds.itemFeatures,
      candidates: [ds.seqItems[end - 1]!],
    };
    const scorer = await DeviceScorer.create(state);
    try {
      const [p] = scorer.score(request);
      const want = r.predictions!.test[u]!;
      assert.ok(Math.abs(p! - want) < 1e-5, `user ${u}: device ${p}, evaluation ${want}`);
      // both the bias and the table count in that score
      for (const [what, at, n] of [["user bias", lay.bias, 1], ["personal table", lay.table, lay.tableSize]] as const) {
        const zeroed = state.values.private.slice();
        zeroed.fill(0, at, at + n);
        assert.ok(state.values.private.subarray(at, at + n).some((v) => v !== 0), `user ${u}: the ${what} is all zeros`);
        scorer.load("private", zeroed);
        const [q] = scorer.score(request);
        assert.ok(Math.abs(q! - p!) > 1e-6, `user ${u}: the score without the ${what} is the same (${q})`);
      }
    } finally {
      scorer.dispose();
    }
  }
});

test("a coordinator refuses a private Adam, whose moments a device does not keep between rounds", async () => {
  const config = devicePreset(12, 1);
  config.local.private = { ...config.local.private!, optimizer: "adam" };
  let error: unknown = null;
  try {
    await (await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: tmp() })).close();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof RangeError && /not adam/.test(error.message), String(error));
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
