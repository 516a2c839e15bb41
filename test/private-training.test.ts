// The private-partition options (src/federated/private-training.ts, the user-bias option and the
// whole-history windows): the click-rate initialisation is the Laplace-smoothed logit of each
// user's own training clicks; a private Adam whose state goes out to a client's slot and back
// steps exactly as one that never left; the whole-history windows score every training target
// once; and a run with all of them on resumes to the numbers of an uninterrupted run, for any
// worker count.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constantInit } from "../src/autograd/init.js";
import { ParamStore, type ParamSpec } from "../src/autograd/params.js";
import { leaveOneOut } from "../src/data/split.js";
import { syntheticDataset } from "../src/data/synthetic.js";
import { LocalTrainer } from "../src/federated/client.js";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { loadArray } from "../src/federated/checkpoint.js";
import { clickRateLogit, initPersonalBias, PRIVATE_DEFAULTS, PrivateOptimizer, privateStateSize, type PrivateOptions } from "../src/federated/private-training.js";
import { readRunCheckpoint, resumeTraining, train, type RoundRow } from "../src/federated/trainer.js";
import { createModel, schemaOf } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";
import { configFromArgs, parseTrainArgs } from "../src/cli/train-options.js";
import { wasmBackends } from "./helpers.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-private-"));
  dirs.push(d);
  return d;
}

test("clickRateLogit: logit((clicks + 1) / (n + 2)) of the user's training impressions, finite at all-click and no-click", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 12 }), (seed, users) => {
      const ds = syntheticDataset({ seed, users, items: 40, minHistory: 3, maxHistory: 30 });
      const split = leaveOneOut(ds);
      for (let u = 0; u < users; u++) {
        let clicks = 0;
        for (let j = 0; j < split.trainLength[u]!; j++) clicks += ds.seqLabels[ds.seqStart[u]! + j]!;
        const n = split.trainLength[u]!;
        const want = Math.log((clicks + 1) / (n + 1 - clicks));
        const v = clickRateLogit(ds, split, u);
        assert.ok(Number.isFinite(v) && Math.abs(v - want) <= 1e-12 * Math.max(1, Math.abs(want)), `user ${u}: ${v} vs ${want}`);
      }
    }),
    { numRuns: 25, seed: 3 },
  );
  // every impression clicked, or none: the pseudo-counts keep the logit finite
  const ds = syntheticDataset({ users: 2, items: 20, minHistory: 3, maxHistory: 5 });
  const split = leaveOneOut(ds);
  const n = split.trainLength[0]!;
  ds.seqLabels.fill(1, ds.seqStart[0]!, ds.seqStart[0]! + n);
  assert.ok(Math.abs(clickRateLogit(ds, split, 0) - Math.log(n + 1)) < 1e-12);
  ds.seqLabels.fill(0, ds.seqStart[0]!, ds.seqStart[0]! + n);
  assert.ok(Math.abs(clickRateLogit(ds, split, 0) + Math.log(n + 1)) < 1e-12);
  // a user the data does not have is an error, not a NaN
  assert.throws(() => clickRateLogit(ds, split, 2), /no user 2 \(the data has 2\)/);
  assert.throws(() => clickRateLogit(ds, split, -1), /no user -1/);
});

test("initPersonalBias: logit of the user's shrunk rate on each seen item-field value minus logit of its rate; nothing else touched", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 8 }), fc.double({ min: 0.01, max: 1e4, noNaN: true }), (seed, users, prior) => {
      const ds = syntheticDataset({ seed, users, items: 30, minHistory: 3, maxHistory: 25 });
      const split = leaveOneOut(ds);
      const F = ds.itemFields.length;
      const rows = ds.itemFields.reduce((s, f) => s + f.cardinality, 0);
      const at = seed % 3;
      const size = rows + at + 2;
      const privates = new Float32Array(users * size).fill(7);
      for (let u = 0; u < users; u++) initPersonalBias(ds, split, u, privates.subarray(u * size, (u + 1) * size), at, prior, 0.5);
      for (let u = 0; u < users; u++) {
        // counted per (field, code) pair from the raw sequence, independently of the stacked layout
        const seen = new Map<string, [number, number]>();
        let clicks = 0;
        const n = split.trainLength[u]!;
        for (let j = ds.seqStart[u]!; j < ds.seqStart[u]! + n; j++) {
          clicks += ds.seqLabels[j]!;
          for (let f = 0; f < F; f++) {
            const key = `${f}:${ds.itemFeatures[ds.seqItems[j]! * F + f]}`;
            const [c, m] = seen.get(key) ?? [0, 0];
            seen.set(key, [c + ds.seqLabels[j]!, m + 1]);
          }
        }
        const r = (clicks + 1) / (n + 2);
        let row = 0;
        for (let f = 0; f < F; f++) {
          for (let code = 0; code < ds.itemFields[f]!.cardinality; code++, row++) {
            const v = privates[u * size + at + row]!;
            const cm = seen.get(`${f}:${code}`);
            if (!cm) {
              assert.is(v, 7, `user ${u}: unseen value ${f}:${code} touched`);
              continue;
            }
            const s = (cm[0] + prior * r) / (cm[1] + prior);
            const want = 0.5 * (Math.log(s / (1 - s)) - Math.log(r / (1 - r)));
            assert.ok(Number.isFinite(v) && Math.abs(v - want) <= 1e-5 * Math.max(1, Math.abs(want)), `user ${u}, ${f}:${code}: ${v} vs ${want}`);
          }
        }
        for (let k = 0; k < at; k++) assert.is(privates[u * size + k], 7, `user ${u}: value ${k} before the table touched`);
        for (let k = at + rows; k < size; k++) assert.is(privates[u * size + k], 7, `user ${u}: value ${k} after the table touched`);
      }
    }),
    { numRuns: 25, seed: 4 },
  );
  const ds = syntheticDataset({ users: 3, items: 20, minHistory: 3, maxHistory: 5 });
  const rows = ds.itemFields.reduce((s, f) => s + f.cardinality, 0);
  const split = leaveOneOut(ds);
  assert.throws(() => initPersonalBias(ds, split, 3, new Float32Array(rows), 0, 10, 1), /no user 3 \(the data has 3\)/);
  assert.throws(() => initPersonalBias(ds, split, 0, new Float32Array(rows), 1, 10, 1), new RegExp(`a table of ${rows} rows at 1 does not fit ${rows}`));
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(() => initPersonalBias(ds, split, 0, new Float32Array(rows), 0, bad, 1), /prior must be positive/);
    assert.throws(() => initPersonalBias(ds, split, 0, new Float32Array(rows), 0, 10, bad), /weight must be positive/);
  }
});

const SPECS: ParamSpec[] = [
  { name: "s", partition: "shared", shape: [3], init: constantInit(1) },
  { name: "p", partition: "private", shape: [5], init: constantInit(2) },
];

test("a private Adam's state saved to a client's slot and loaded back steps as if it had never left", async () => {
  const [be] = await wasmBackends();
  const opts: PrivateOptions = { ...PRIVATE_DEFAULTS, optimizer: "adam", lr: 0.05 };
  const grads = [0.3, -0.01, 2e-4, -5, 0.7];
  // one optimiser for one client, against one shared by two clients whose states take turns
  const plain = new ParamStore(be!, SPECS, new Rng(1));
  const direct = new PrivateOptimizer(plain, opts);
  const shared = new ParamStore(be!, SPECS, new Rng(1));
  const slotted = new PrivateOptimizer(shared, opts);
  assert.is(slotted.stateSize, privateStateSize(opts, shared.buffer("private").size));
  // slot 2 belongs to nobody: it must stay as it is
  const slots = new Float32Array(3 * slotted.stateSize);
  slots.fill(9, 2 * slotted.stateSize);
  const pd = plain.get("p");
  const pv = shared.get("p");
  for (const g of grads) {
    plain.be.f.fill(g, pd.grad, pd.grad + pd.size);
    direct.step();
    slotted.load(slots, 1);
    shared.be.f.fill(g, pv.grad, pv.grad + pv.size);
    slotted.step();
    slotted.save(slots, 1);
    // client 0 trains in between on the same optimiser; client 1's values come back as a runner restores them
    const mine = shared.be.f.slice(pv.offset, pv.offset + pv.size);
    slotted.load(slots, 0);
    shared.be.f.fill(1, pv.grad, pv.grad + pv.size);
    slotted.step();
    slotted.save(slots, 0);
    shared.be.f.set(mine, pv.offset);
  }
  assert.equal(Array.from(shared.be.f.subarray(pv.offset, pv.offset + pv.size)), Array.from(plain.be.f.subarray(pd.offset, pd.offset + pd.size)));
  assert.is(slots[2 * slotted.stateSize - 1], grads.length, "client 1's step count");
  assert.ok(slots.subarray(2 * slotted.stateSize).every((v) => v === 9), "a third client's slot changed");
  // the shared partition is not the private optimiser's
  const s = shared.get("s");
  assert.equal(Array.from(shared.be.f.subarray(s.offset, s.offset + s.size)), [1, 1, 1]);
  // SGD keeps nothing between rounds; "shared" has no optimiser of its own
  assert.is(new PrivateOptimizer(plain, { ...opts, optimizer: "sgd" }).stateSize, 0);
  assert.is(privateStateSize({ ...opts, optimizer: "sgd" }, 5), 0);
  assert.throws(() => new PrivateOptimizer(plain, { ...opts, optimizer: "shared" }), /no private optimiser/);
});

test("whole-history windows score each training target once; the last-window default scores at most maxlen", async () => {
  const [be] = await wasmBackends();
  const ds = syntheticDataset({ users: 6, items: 50, minHistory: 3, maxHistory: 60 });
  const split = leaveOneOut(ds);
  const config = { ...defaultConfig().model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [4] };
  const model = createModel(config, schemaOf(ds));
  const store = new ParamStore(be!, model.specs, new Rng(1));
  const base = defaultConfig().local;
  const all = new LocalTrainer(model, store, ds, split, { ...base, history: "all" });
  const last = new LocalTrainer(model, store, ds, split, { ...base, history: "last" });
  for (let u = 0; u < ds.numUsers; u++) {
    const targets = split.trainLength[u]! - 1;
    const a = all.train(u, 1, new Rng(u));
    assert.is(a.samples, targets, `user ${u}: whole history`);
    assert.ok(Number.isFinite(a.loss));
    assert.is(last.train(u, 1, new Rng(u)).samples, Math.min(targets, 8), `user ${u}: last window`);
  }
  assert.throws(() => new LocalTrainer(model, store, ds, split, { ...base, history: "some" as "all" }), /history must be last or all/);
  assert.throws(() => new LocalTrainer(model, store, ds, split, { ...base, private: { ...PRIVATE_DEFAULTS, extraSteps: 2 } }), /need a private optimizer/);
});

function config(): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 40, items: 200, maxHistory: 40 } };
  c.model = { ...c.model, maxlen: 12, fieldDim: 4, groups: 2, mlp: [8], clickInput: true, userBias: true };
  c.local = { ...c.local, history: "all", private: { optimizer: "adam", lr: 0.02, extraSteps: 1, biasInit: "click-rate" } };
  c.rounds = 3;
  c.chunk = 8;
  c.bootstrap = 50;
  return c;
}

const numbers = (rows: RoundRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

test("with the private options on, workers 0 and 2 agree and a stopped run resumes to the uninterrupted numbers", async () => {
  const whole = tmp();
  const w = await train(config(), { workers: 0, out: whole });
  const threads = tmp();
  const t = await train(config(), { workers: 2, out: threads });
  assert.equal(numbers(t.report.rounds), numbers(w.report.rounds));
  const out = tmp();
  const stop = new AbortController();
  await train(config(), { workers: 2, out, signal: stop.signal, onRound: (row) => row.round === 1 && stop.abort() });
  const resumed = await resumeTraining(out, { workers: 0 });
  assert.equal(numbers(resumed.report.rounds), numbers(w.report.rounds));
  const a = readRunCheckpoint(whole).arrays;
  const b = readRunCheckpoint(out).arrays;
  const states = loadArray(a.privateStates!);
  assert.ok(states.length > 0 && states.some((v) => v !== 0), "the private Adam's state is checkpointed");
  for (const name of ["global", "privates", "privateStates"]) assert.equal(Array.from(loadArray(b[name]!)), Array.from(loadArray(a[name]!)), name);
});

test("the device preset gives each regime the parts that apply to it; later options override it", () => {
  const of = (...args: string[]) => configFromArgs(parseTrainArgs(args));
  for (const model of ["mrff", "fedsasrec"]) {
    const c = of("--model", model, "--preset", "device");
    assert.equal([c.model.userBias, c.model.itemBias, c.model.clickInput, c.model.personalBias, c.local.private?.optimizer, c.local.private?.biasInit, c.averaging], [true, true, true, "eval", "sgd", "click-rate", "touched"], model);
  }
  const local = of("--model", "local", "--preset", "device");
  assert.equal([local.model.userBias, local.model.itemBias, local.model.personalBias, local.local.private?.optimizer, local.local.private?.biasInit, local.averaging], [true, true, "eval", "shared", "click-rate", undefined]);
  const central = of("--model", "central", "--preset", "device");
  assert.equal([central.model.userBias, central.model.itemBias, central.model.clickInput, central.model.personalBias, central.local.private, central.averaging], [true, true, true, undefined, undefined, undefined]);
  const over = of("--preset", "device", "--private-opt", "adam", "--history", "all", "--averaging", "all");
  assert.equal([over.local.private?.optimizer, over.local.private?.biasInit, over.local.history, over.averaging], ["adam", "click-rate", "all", "all"]);
  // the reference preset is the default configuration
  assert.equal(of("--preset", "reference"), of());
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
