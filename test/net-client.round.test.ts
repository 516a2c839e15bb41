// A networked device's round (RoundTrainer) is the in-process client's round: the same private
// values bit for bit (under the device preset too, whose users start from their own history), and
// global values that agree with the in-process engine's to f32 rounding when the deltas are
// averaged; it is a pure function of its inputs; users and schemas are checked.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { loadArray } from "../src/federated/checkpoint.js";
import { applyPreset } from "../src/federated/presets.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { checkSchema, RoundTrainer, type RunSettings, type TaskValues } from "../src/federated/net-client/round-trainer.js";
import { loadData } from "../src/federated/source.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { dataSchemaOf } from "../src/data/schema.js";

function small(): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 3, mlp: [8] };
  c.rounds = 1;
  c.chunk = 4;
  return c;
}

const settingsOf = (c: TrainConfig): RunSettings => ({ model: c.model, local: c.local, seed: c.seed });

/** The run's initial shared and group values, as round 1's task carries them. */
function firstTask(t: RoundTrainer, global: Float32Array): TaskValues {
  return { round: 1, shared: global.slice(0, t.sizes.shared), group: global.slice(t.sizes.shared), groupShare: null };
}

// the device preset: each user starts from its own history, and shared values average over the users
// that changed them; "device, history all": every training impression, in windows of maxlen
for (const [name, preset, history] of [["reference", "reference", "last"], ["device", "device", "last"], ["device, history all", "device", "all"]] as const) {
  test(`one networked round equals the in-process round: same privates bit for bit, same averages to f32 rounding (preset ${name})`, async () => {
    const c = small();
    applyPreset(c, preset);
    c.local.history = history;
    const engine = await FederatedEngine.create(c, 0);
    try {
      const before = engine.save();
      const g0 = (before.global as Float32Array).slice();
      await engine.trainRound(1, () => {});
      const after = engine.save();
      const privates = loadArray(after.privates!);
      const ds = loadData(c.data);
      const t = RoundTrainer.create(settingsOf(c), ds, await loadWasmBackend());
      const { shared: S, group: G, private: P } = t.sizes;
      assert.is(g0.length, S + G);
      const task = firstTask(t, g0);
      // the coordinator's f64 sums of the deltas: shared over everybody, each expert over its choosers
      const sum = new Float64Array(S + G);
      // users whose delta of each shared value is nonzero (touched averaging divides by them)
      const touched = new Float64Array(S);
      const choosers = new Float64Array(c.model.blocks * c.model.groups);
      const lay = t.layout!;
      for (let u = 0; u < ds.numUsers; u++) {
        const out = t.train(u, task, t.initialPrivate(u));
        assert.equal(out.private, privates.subarray(u * P, (u + 1) * P), `user ${u}'s private values differ from the in-process run`);
        for (let j = 0; j < S; j++) {
          sum[j] += out.shared[j]!;
          if (out.shared[j] !== 0) touched[j]++;
        }
        assert.is(out.experts.length, c.model.blocks);
        for (const e of out.experts) {
          const cell = e.block * lay.groups + e.group;
          assert.is(e.delta.length, lay.size[cell]);
          choosers[cell]++;
          for (let j = 0; j < e.delta.length; j++) sum[S + lay.start[cell]! + j] += e.delta[j]!;
        }
      }
      const want = after.global as Float32Array;
      const n = ds.numUsers;
      let worst = 0;
      const check = (j: number, count: number) => {
        const got = count > 0 ? g0[j]! + sum[j]! / count : g0[j]!;
        worst = Math.max(worst, Math.abs(got - want[j]!) / Math.max(1, Math.abs(want[j]!)));
      };
      for (let j = 0; j < S; j++) check(j, c.averaging === "touched" ? touched[j]! : n);
      for (let cell = 0; cell < choosers.length; cell++) {
        for (let j = 0; j < lay.size[cell]!; j++) check(S + lay.start[cell]! + j, choosers[cell]!);
      }
      // a few f32 roundings of values of order 1 (the in-process path sums trained values in f32 per chunk)
      assert.ok(worst < 1e-5, `averaged deltas differ from the in-process averages by ${worst} (relative)`);
    } finally {
      await engine.close();
    }
  });
}

test("a round is a pure function: the same inputs give the same outputs and stay unchanged", async () => {
  const c = small();
  const ds = loadData(c.data);
  const be = await loadWasmBackend();
  const a = RoundTrainer.create(settingsOf(c), ds, be);
  const b = RoundTrainer.create(settingsOf(c), ds, be);
  const shared = Float32Array.from({ length: a.sizes.shared }, (_, j) => Math.sin(j) * 0.1);
  const group = Float32Array.from({ length: a.sizes.group }, (_, j) => Math.cos(j) * 0.1);
  const share = Float64Array.from({ length: c.model.blocks * c.model.groups }, (_, j) => (j % c.model.groups === 0 ? 0.5 : 0.25));
  const task: TaskValues = { round: 7, shared, group, groupShare: share };
  const priv = a.initialPrivate(3).map((v, j) => v + 0.01 * Math.sin(3 * j));
  const copies = [shared.slice(), group.slice(), priv.slice()];
  // b trains another user first: a trainer keeps nothing from one call to the next
  b.train(5, { ...task, round: 2 }, b.initialPrivate(5));
  const x = a.train(3, task, priv);
  const y = b.train(3, task, priv);
  assert.equal([shared, group, priv], copies, "training changed its inputs");
  assert.equal(x, y);
  assert.ok(x.samples > 0 && Number.isFinite(x.loss));
  assert.ok(x.shared.some((d) => d !== 0), "training moved no shared value");
  // another round number is another dropout stream
  const z = a.train(3, { ...task, round: 8 }, priv);
  assert.not.equal(z.shared, x.shared);
});

test("inputs of the wrong size and unknown users are refused by name", async () => {
  const c = small();
  const ds = loadData(c.data);
  const t = RoundTrainer.create(settingsOf(c), ds, await loadWasmBackend());
  const task: TaskValues = { round: 1, shared: new Float32Array(t.sizes.shared), group: new Float32Array(t.sizes.group), groupShare: null };
  assert.throws(() => t.train(0, { ...task, shared: new Float32Array(3) }, t.initialPrivate(0)), /shared has 3 values/);
  assert.throws(() => t.train(0, { ...task, group: new Float32Array(t.sizes.group + 1) }, t.initialPrivate(0)), /group has/);
  assert.throws(() => t.train(0, task, new Float32Array(1)), /private state has 1 values/);
  assert.throws(() => t.train(ds.numUsers, task, t.initialPrivate(0)), /user index 12 is not in \[0, 12\)/);
  assert.is(t.userIndex(ds.userIds[4]!), 4);
  assert.throws(() => t.userIndex(-5), /user -5 is not in the data/);
});

test("a schema mismatch names the field kind, the fields and their cardinalities", () => {
  const ds = loadData(small().data);
  const mine = dataSchemaOf(ds);
  checkSchema(mine, structuredClone(mine));
  const last = mine.itemFields[mine.itemFields.length - 1]!;
  const theirs = { ...mine, itemFields: [...mine.itemFields.slice(0, -1), { ...last, cardinality: 999 }] };
  assert.throws(() => checkSchema(mine, theirs), new RegExp(`itemFields .* expects \\[.*${last.name}:999\\]`));
  const renamed = { ...mine, userFields: mine.userFields.map((f, i) => (i === 0 ? { ...f, name: "other" } : f)) };
  assert.throws(() => checkSchema(mine, renamed), /userFields .* expects \[other:/);
  assert.throws(() => RoundTrainer.create({ model: small().model, local: small().local, seed: 1 }, ds, undefined as never, theirs), /schema mismatch/);
});

test.run();

test("under an lr schedule the coordinator's round r (from 0) trains at the multiplier of the in-process round r + 1", async () => {
  const ds = loadData(small().data);
  const be = await loadWasmBackend();
  const trainer = (lr: number, schedule: boolean) => {
    const c = small();
    c.local = { ...c.local, optimizer: "sgd", lr, ...(schedule ? { lrSchedule: { kind: "exp" as const, final: 0.5, span: 2 } } : {}) };
    return RoundTrainer.create(settingsOf(c), ds, be);
  };
  const scheduled = trainer(0.1, true);
  const task = (round: number): TaskValues => ({ round, shared: new Float32Array(scheduled.sizes.shared).fill(0.05), group: new Float32Array(scheduled.sizes.group).fill(0.05), groupShare: null });
  // multiplier 1 at round 1, 0.5 from round 2 (halving is exact, so the values must match bit for bit)
  assert.equal(scheduled.train(2, task(0), scheduled.initialPrivate(2)), trainer(0.1, false).train(2, task(0), scheduled.initialPrivate(2)));
  assert.equal(scheduled.train(2, task(1), scheduled.initialPrivate(2)), trainer(0.05, false).train(2, task(1), scheduled.initialPrivate(2)));
  assert.not.equal(scheduled.train(2, task(1), scheduled.initialPrivate(2)).shared, trainer(0.1, false).train(2, task(1), scheduled.initialPrivate(2)).shared);
});
