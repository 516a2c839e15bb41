// The model's forward pass: routing (argmax of the gate, gradients only into the chosen experts),
// the balance loss against a hand computation, padding (all-padding rows, T = 1, trimmed windows),
// independence of the rows of a batch, on-device scoring against forward's logits, and a training
// step that allocates nothing after warm-up.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { Backend } from "../src/kernels/backend.js";
import { Arena } from "../src/kernels/arena.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { PARTITIONS, ParamStore } from "../src/autograd/params.js";
import { Tape } from "../src/autograd/tape.js";
import type { Tensor } from "../src/autograd/tensor.js";
import type { SequenceModel } from "../src/model/model.js";
import { scoreItems } from "../src/model/score.js";
import type { BatchInputs, ForwardOptions } from "../src/model/types.js";
import { allocWindows } from "../src/data/split.js";
import { Rng } from "../src/util/rng.js";
import { adamStepper, wasmBackends } from "./helpers.js";
import { randomBatch, randomShare, smallConfig, smallModel, smallSchema, type ModelDims } from "./model-fixtures.js";
import { createModel, PERSONAL_BIAS } from "../src/model/index.js";

const base: ModelDims = { B: 4, T: 5, fieldDim: 2, itemFields: 3, userFields: 2, groups: 3, hidden: 6, heads2: 0, gateWeighted: 0, gateClicks: 0, clickInput: 0, userBias: 0, itemBias: 0, personalBias: 0, fedsasrec: 0, balance: 0, allPad: 0, pct: 0 };

interface Setup {
  be: Backend;
  model: SequenceModel;
  ps: ParamStore;
  tp: Tape;
}

function setup(be: Backend, d: ModelDims, seed: number): Setup {
  const model = smallModel(d);
  return { be, model, ps: new ParamStore(be, model.specs, new Rng(seed)), tp: new Tape(be, new Arena(be, 1 << 12)) };
}

const read = (be: Backend, t: Tensor): number[] => Array.from(be.f.subarray(t.offset, t.offset + t.size));
const evalOpts = (): ForwardOptions => ({ train: false, rng: new Rng(0) });
const seeds = fc.integer({ min: 0, max: 2 ** 30 });
const close = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * (1 + Math.abs(b));

/** One row of a batch as a batch of its own (same user and field tables). */
function rowOf(batch: BatchInputs, b: number): BatchInputs {
  const { windows: w } = batch;
  const T = w.maxlen;
  const one = allocWindows(1, T);
  for (const k of ["items", "clicks", "mask", "targets", "labels", "weights"] as const) one[k].set(w[k].subarray(b * T, (b + 1) * T));
  return { ...batch, windows: one, users: batch.users.slice(b, b + 1) };
}

test("routes are the argmax of each block's gate, row by row", () => {
  fc.assert(
    fc.property(seeds, (seed) => {
      const s = setup(new RefBackend("f64"), { ...base, B: 6 }, seed);
      const batch = randomBatch(new Rng(seed + 1), s.model.schema, 6, base.T, false);
      const enc = s.model.encode(s.tp, s.ps, batch, evalOpts());
      const routes = s.model.forward(s.tp, s.ps, batch, evalOpts()).routes;
      enc.gates.forEach((g, l) => {
        const p = read(s.be, g.probs);
        for (let b = 0; b < 6; b++) {
          const row = p.slice(b * base.groups, (b + 1) * base.groups);
          assert.is(routes[b * 2 + l], row.indexOf(Math.max(...row)));
        }
      });
    }),
    { numRuns: 20, seed: 1 },
  );
  // a gate bias far above the others sends every row of that block to its group
  const s = setup(new RefBackend("f64"), base, 4);
  const bias = s.ps.get("block1.gate.b");
  s.be.f[bias.offset + 2] = 100;
  const routes = s.model.forward(s.tp, s.ps, randomBatch(new Rng(5), s.model.schema, base.B, base.T, false), evalOpts()).routes;
  for (let b = 0; b < base.B; b++) assert.is(routes[b * 2 + 1], 2);
});

test("gradients reach exactly the chosen group experts", async () => {
  for (const be of [new RefBackend("f64"), ...(await wasmBackends())]) {
    for (const seed of [1, 2, 3, 4, 5]) {
      const s = setup(be, { ...base, B: 6 }, seed);
      const batch = randomBatch(new Rng(seed + 1), s.model.schema, 6, base.T, false);
      const { loss, routes } = s.model.forward(s.tp, s.ps, batch, { train: true, rng: new Rng(seed), groupShare: randomShare(new Rng(seed), 2, base.groups) });
      s.ps.zeroGrads();
      s.tp.backward(loss);
      for (let l = 0; l < 2; l++) {
        for (let k = 0; k < base.groups; k++) {
          const t = s.ps.get(s.model.groupParam(l, k));
          const touched = be.f.subarray(t.grad, t.grad + t.size).some((v) => v !== 0);
          const chosen = Array.from({ length: 6 }, (_, b) => routes[b * 2 + l]).includes(k);
          assert.is(touched, chosen, `${be.name} seed ${seed}: expert (${l}, ${k}) chosen ${chosen}, gradient ${touched}`);
        }
      }
    }
  }
});

test("balance loss: α·K·share[k]·g_k per block, averaged over the rows with a real position", () => {
  for (const gateWeighted of [0, 1]) {
    const d = { ...base, B: 5, gateWeighted };
    const s = setup(new RefBackend("f64"), d, 7);
    const batch = randomBatch(new Rng(8), s.model.schema, d.B, d.T, true);
    const share = randomShare(new Rng(9), 2, d.groups);
    const plain = s.be.f[s.model.forward(s.tp, s.ps, batch, evalOpts()).loss.offset]!;
    const withBalance = s.model.forward(s.tp, s.ps, batch, { ...evalOpts(), groupShare: share });
    const got = s.be.f[withBalance.loss.offset]! - plain;
    const enc = s.model.encode(s.tp, s.ps, batch, evalOpts());
    let want = 0;
    enc.gates.forEach((g, l) => {
      const p = read(s.be, g.probs);
      // row 0 is all padding: left out of the average
      for (let b = 1; b < d.B; b++) {
        const k = withBalance.routes[b * 2 + l]!;
        want += (0.1 * d.groups * share[l * d.groups + k]! * p[b * d.groups + k]!) / (d.B - 1);
      }
    });
    assert.ok(want > 0);
    assert.ok(close(got, want, 1e-12), `gateWeighted ${gateWeighted}: balance ${got}, by hand ${want}`);
  }
});

test("all-padding rows and one-slot windows give finite losses and gradients", async () => {
  for (const be of [new RefBackend("f64"), ...(await wasmBackends())]) {
    for (const d of [{ ...base, T: 1 }, { ...base, allPad: 1 }, { ...base, B: 1, allPad: 1 }, { ...base, T: 1, allPad: 1, gateWeighted: 1, clickInput: 1 }]) {
      const s = setup(be, { ...d, pct: 50 }, 11);
      const batch = randomBatch(new Rng(12), s.model.schema, d.B, d.T, d.allPad === 1);
      const { loss, logits } = s.model.forward(s.tp, s.ps, batch, { train: true, rng: new Rng(13), groupShare: randomShare(new Rng(14), 2, d.groups) });
      assert.ok(Number.isFinite(be.f[loss.offset]!), `${be.name}: loss ${be.f[loss.offset]}`);
      assert.ok(read(be, logits).every(Number.isFinite));
      s.ps.zeroGrads();
      s.tp.backward(loss);
      for (const p of PARTITIONS) {
        const buf = s.ps.buffer(p);
        assert.is(be.nonFiniteIndex(buf.grads, buf.size), -1, `${be.name} ${JSON.stringify(d)}: non-finite ${p} gradient`);
      }
    }
  }
});

test("each row's logits are those of the row alone (mixed routing, all-padding rows included)", () => {
  let mixed = 0;
  fc.assert(
    fc.property(seeds, fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), (seed, gateWeighted, allPad) => {
      const d = { ...base, B: 6, gateWeighted, clickInput: gateWeighted };
      const s = setup(new RefBackend("f64"), d, seed);
      const batch = randomBatch(new Rng(seed + 1), s.model.schema, d.B, d.T, allPad === 1);
      const whole = s.model.forward(s.tp, s.ps, batch, evalOpts());
      if (new Set(whole.routes.filter((_, j) => j % 2 === 0)).size > 1 || new Set(whole.routes.filter((_, j) => j % 2 === 1)).size > 1) mixed++;
      const logits = read(s.be, whole.logits);
      for (let b = 0; b < d.B; b++) {
        const alone = s.model.forward(s.tp, s.ps, rowOf(batch, b), evalOpts());
        assert.equal(Array.from(alone.routes), Array.from(whole.routes.subarray(b * 2, b * 2 + 2)));
        read(s.be, alone.logits).forEach((v, t) => assert.ok(close(v, logits[b * d.T + t]!, 1e-12), `row ${b} slot ${t}: ${v} vs ${logits[b * d.T + t]}`));
      }
    }),
    { numRuns: 15, seed: 2 },
  );
  // the sort-and-scatter path of GroupExperts must have been taken
  assert.ok(mixed >= 5, `only ${mixed} of 15 batches were routed to more than one expert`);
});

test("personal bias: adds the target's per-field scalars to the logit; in eval mode at prediction only", () => {
  fc.assert(
    fc.property(seeds, fc.constantFrom("trained" as const, "eval" as const), (seed, mode) => {
      const d = { ...base, B: 3, clickInput: 1, userBias: 1, itemBias: 1 };
      const model = createModel({ ...smallConfig(d), personalBias: mode }, smallSchema(d));
      const be = new RefBackend("f64");
      const ps = new ParamStore(be, model.specs, new Rng(seed));
      const tp = new Tape(be, new Arena(be, 1 << 12));
      const batch = randomBatch(new Rng(seed + 1), model.schema, d.B, d.T, false);
      const table = ps.get(PERSONAL_BIAS);
      const run = (train: boolean) => {
        const out = model.forward(tp, ps, batch, { train, rng: new Rng(0) });
        const r = { loss: be.f[out.loss.offset]!, logits: read(be, out.logits) };
        tp.reset();
        return r;
      };
      const zero = { train: run(true), eval: run(false) };
      const rng = new Rng(seed + 2);
      for (let j = 0; j < table.size; j++) be.f[table.offset + j] = rng.uniform(-1, 1);
      const set = { train: run(true), eval: run(false) };
      const F = d.itemFields;
      const cards = smallSchema(d).itemCardinalities;
      for (let s = 0; s < d.B * d.T; s++) {
        if (batch.windows.mask[s] === 0) continue;
        let want = 0;
        let row = 0;
        for (let f = 0; f < F; f++) {
          want += be.f[table.offset + row + batch.itemFeatures[batch.windows.targets[s]! * F + f]!]!;
          row += cards[f]!;
        }
        assert.ok(close(set.eval.logits[s]! - zero.eval.logits[s]!, want, 1e-9), `slot ${s}: ${set.eval.logits[s]! - zero.eval.logits[s]!} vs ${want}`);
      }
      if (mode === "eval") assert.ok(close(set.train.loss, zero.train.loss, 1e-12), "eval mode: training does not see the table");
      else assert.not.ok(close(set.train.loss, zero.train.loss, 1e-9), "trained mode: training sees the table");
    }),
    { numRuns: 10, seed: 5 },
  );
});

test("a window trimmed of its padding computes what the padded window does", () => {
  fc.assert(
    fc.property(seeds, fc.integer({ min: 1, max: base.T }), (seed, keep) => {
      const d = { ...base, B: 1, clickInput: 1 };
      const s = setup(new RefBackend("f64"), d, seed);
      const padded = randomBatch(new Rng(seed + 1), s.model.schema, 1, d.T, false, "last");
      const w = padded.windows;
      const real = w.mask.reduce((a, v) => a + v, 0);
      const T = Math.max(keep, real);
      const trimmed = allocWindows(1, T);
      for (const k of ["items", "clicks", "mask", "targets", "labels", "weights"] as const) trimmed[k].set(w[k].subarray(d.T - T));
      const a = s.model.forward(s.tp, s.ps, padded, evalOpts());
      const la = read(s.be, a.logits)[d.T - 1]!;
      const b = s.model.forward(s.tp, s.ps, { ...padded, windows: trimmed }, evalOpts());
      const lb = read(s.be, b.logits)[T - 1]!;
      assert.ok(close(la, lb, 1e-12), `padded ${la}, trimmed ${lb}`);
      assert.equal(Array.from(a.routes), Array.from(b.routes));
    }),
    { numRuns: 20, seed: 3 },
  );
});

test("scoreItems equals forward's click probability at the last position", async () => {
  for (const be of [new RefBackend("f64"), ...(await wasmBackends())]) {
    for (const d of [base, { ...base, gateWeighted: 1, clickInput: 1 }, { ...base, fedsasrec: 1 }, { ...base, allPad: 1 }]) {
      const s = setup(be, d, 21);
      const batch = randomBatch(new Rng(22), s.model.schema, d.B, d.T, d.allPad === 1, "last");
      // every row scores its last slot; an all-padding row has no scored slot, so give it one
      const w = batch.windows;
      for (let b = 0; b < d.B; b++) {
        w.weights[b * d.T + d.T - 1] = 1;
        w.targets[b * d.T + d.T - 1] ||= 1;
      }
      const logits = read(be, s.model.forward(s.tp, s.ps, batch, evalOpts()).logits);
      const scorer = new Tape(be, new Arena(be, 1 << 12));
      for (let b = 0; b < d.B; b++) {
        const slots = Array.from({ length: d.T }, (_, t) => b * d.T + t).filter((j) => w.mask[j] === 1);
        const target = w.targets[b * d.T + d.T - 1]!;
        const p = scoreItems(s.model, scorer, s.ps, {
          history: slots.map((j) => w.items[j]!),
          clicks: slots.map((j) => w.clicks[j]!),
          userCodes: batch.userFeatures.subarray(batch.users[b]! * d.userFields, (batch.users[b]! + 1) * d.userFields),
          itemFeatures: batch.itemFeatures,
          candidates: [3, target, 1],
        });
        assert.is(p.length, 3);
        const want = 1 / (1 + Math.exp(-logits[b * d.T + d.T - 1]!));
        const tol = be.name === "ref-f64" ? 1e-12 : 1e-5;
        assert.ok(close(p[1]!, want, tol), `${be.name} ${JSON.stringify(d)} row ${b}: scoreItems ${p[1]}, forward ${want}`);
      }
    }
  }
});

test("dropout: a seed fixes the training loss; training and evaluation differ", () => {
  const s = setup(new RefBackend("f64"), { ...base, pct: 50 }, 31);
  const batch = randomBatch(new Rng(32), s.model.schema, base.B, base.T, false);
  const loss = (opts: ForwardOptions): number => s.be.f[s.model.forward(s.tp, s.ps, batch, opts).loss.offset]!;
  const a = loss({ train: true, rng: new Rng(5) });
  assert.is(loss({ train: true, rng: new Rng(5) }), a);
  assert.is.not(loss(evalOpts()), a);
});

test("after warm-up a training step allocates nothing and Adam lowers the loss", async () => {
  for (const be of [...(await wasmBackends()), new RefBackend("f32")]) {
    const s = setup(be, { ...base, B: 1, pct: 20 }, 41);
    const batch = randomBatch(new Rng(42), s.model.schema, 1, base.T, false);
    const share = randomShare(new Rng(43), 2, base.groups);
    const adam = adamStepper(be, s.ps, s.tp);
    let allocs = 0;
    const alloc = be.alloc.bind(be);
    be.alloc = (n: number) => {
      allocs++;
      return alloc(n);
    };
    const step = (k: number): number => {
      s.tp.reset();
      return adam(k, s.model.forward(s.tp, s.ps, batch, { train: true, rng: new Rng(44), groupShare: share }).loss);
    };
    const losses = [step(1), step(2)];
    const before = allocs;
    try {
      for (let k = 3; k <= 25; k++) losses.push(step(k));
    } finally {
      be.alloc = alloc;
    }
    assert.is(allocs, before, `${be.name}: a step after warm-up allocated`);
    assert.ok(losses[losses.length - 1]! < 0.5 * losses[0]!, `${be.name}: loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  }
});

test.run();
