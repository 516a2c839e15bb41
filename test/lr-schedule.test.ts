// The learning-rate schedule over rounds (src/optim/schedule.ts and its use by the optimisers, the
// local trainer and the central engine): the multiplier starts at 1, never rises, stays in
// [final, 1] and reaches final at the span; a step under multiplier s is the step at lr·s; a run
// under a schedule resumes to the uninterrupted numbers; bad settings name themselves.
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
import { LocalTrainer, type LocalOptions } from "../src/federated/client.js";
import { checkConfig, defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { resumeTraining, train, type RoundRow } from "../src/federated/trainer.js";
import { createModel, schemaOf } from "../src/model/index.js";
import { Adam, ADAM_DEFAULTS } from "../src/optim/adam.js";
import { checkLrSchedule, lrMultiplier, type LrSchedule } from "../src/optim/schedule.js";
import { Sgd } from "../src/optim/sgd.js";
import { Rng } from "../src/util/rng.js";
import { configFromArgs, parseTrainArgs } from "../src/cli/train-options.js";
import { wasmBackends } from "./helpers.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-schedule-"));
  dirs.push(d);
  return d;
}

const schedule = fc.record({
  kind: fc.constantFrom("cosine" as const, "exp" as const),
  final: fc.double({ min: 1e-6, max: 1, noNaN: true }),
  span: fc.integer({ min: 1, max: 1000 }),
});

test("multiplier: 1 at round 1, never rising, within [final, 1], final from the span on (tolerance 1e-12)", () => {
  fc.assert(
    fc.property(schedule, fc.integer({ min: 1, max: 2000 }), (s, r) => {
      const m = lrMultiplier(s, r);
      const next = lrMultiplier(s, r + 1);
      assert.ok(next <= m + 1e-12, `rises from ${m} to ${next} at round ${r}`);
      assert.ok(m >= s.final - 1e-12 && m <= 1 + 1e-12, `${m} outside [${s.final}, 1]`);
      if (s.span > 1) assert.ok(Math.abs(lrMultiplier(s, 1) - 1) < 1e-12, "round 1");
      if (r >= s.span) assert.ok(Math.abs(m - s.final) < 1e-12, `round ${r} >= span ${s.span}: ${m}`);
    }),
  );
});

test("cosine passes (1 + final)/2 halfway; exp falls by the same factor every round before the span", () => {
  fc.assert(
    fc.property(fc.double({ min: 1e-3, max: 1, noNaN: true }), fc.integer({ min: 1, max: 200 }), (final, half) => {
      const span = 2 * half + 1;
      assert.ok(Math.abs(lrMultiplier({ kind: "cosine", final, span }, half + 1) - (1 + final) / 2) < 1e-12);
      const e: LrSchedule = { kind: "exp", final, span };
      const ratio = final ** (1 / (span - 1));
      for (let r = 1; r < span; r++) assert.ok(Math.abs(lrMultiplier(e, r + 1) / lrMultiplier(e, r) - ratio) < 1e-9, `round ${r}`);
    }),
  );
});

test("no schedule and constant give 1; span 1 gives final from round 1; huge rounds stay at final", () => {
  for (const r of [1, 2, 1e6]) {
    assert.is(lrMultiplier(undefined, r), 1);
    assert.is(lrMultiplier({ kind: "constant", final: 1, span: 1 }, r), 1);
    assert.is(lrMultiplier({ kind: "cosine", final: 0.25, span: 1 }, r), 0.25);
    assert.is(lrMultiplier({ kind: "exp", final: 0.25, span: 1 }, r), 0.25);
  }
  assert.ok(Math.abs(lrMultiplier({ kind: "exp", final: 0.01, span: 3 }, Number.MAX_SAFE_INTEGER) - 0.01) < 1e-15);
});

test("bad schedules and rounds are RangeErrors that name the field", () => {
  const ok: LrSchedule = { kind: "cosine", final: 0.1, span: 10 };
  const cases: [LrSchedule, RegExp][] = [
    [{ ...ok, kind: "step" as "exp" }, /lr schedule must be one of constant, cosine, exp, got 'step'/],
    [{ ...ok, final: 0 }, /final must be in \(0, 1\], got 0/],
    [{ ...ok, final: 1.5 }, /final must be in \(0, 1\], got 1.5/],
    [{ ...ok, final: NaN }, /final must be in \(0, 1\], got NaN/],
    [{ ...ok, span: 0 }, /span must be an integer >= 1, got 0/],
    [{ ...ok, span: 2.5 }, /span must be an integer >= 1, got 2.5/],
  ];
  for (const [s, re] of cases) assert.throws(() => checkLrSchedule(s), re);
  for (const r of [0, -1, 1.5, NaN, Infinity]) assert.throws(() => lrMultiplier(ok, r), /round must be an integer >= 1/);
  const c = defaultConfig("mrff");
  c.local.lrSchedule = { ...ok, span: 0 };
  assert.throws(() => checkConfig(c), /span must be an integer >= 1/);
});

const SPECS: ParamSpec[] = [
  { name: "s", partition: "shared", shape: [7], init: constantInit(1) },
  { name: "p", partition: "private", shape: [3], init: constantInit(-2) },
];

test("Adam and SGD under lrScale s step exactly as at lr·s (s a power of two: the product is exact)", async () => {
  const [be] = await wasmBackends();
  const grads = [0.003, -2, 40, 1e-7, -0.5, 7, 0];
  const run = (lr: number, scale: number, kind: "adam" | "sgd") => {
    const ps = new ParamStore(be!, SPECS, new Rng(1));
    const opt = kind === "adam" ? new Adam(ps, { ...ADAM_DEFAULTS, lr, weightDecay: 0.01 }) : new Sgd(ps, { lr, weightDecay: 0.01 });
    opt.lrScale = scale;
    for (let step = 0; step < 3; step++) {
      ps.zeroGrads();
      const s = ps.get("s");
      grads.forEach((g, j) => (ps.be.f[s.grad + j] = g * (step + 1)));
      opt.step();
    }
    const s = ps.get("s");
    return Array.from(ps.be.f.subarray(s.offset, s.offset + s.size));
  };
  for (const kind of ["adam", "sgd"] as const) {
    for (const scale of [1, 0.5, 0.125]) assert.equal(run(0.1, scale, kind), run(0.1 * scale, 1, kind), `${kind} × ${scale}`);
    assert.not.equal(run(0.1, 0.5, kind), run(0.1, 1, kind), `${kind}: the scale changes the step`);
  }
});

test("a client trains in round r at lr × the multiplier of r, its private optimiser too", async () => {
  const [be] = await wasmBackends();
  const ds = syntheticDataset({ users: 6, items: 40, maxHistory: 20, seed: 3 });
  const split = leaveOneOut(ds);
  const model = createModel({ ...defaultConfig().model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [4], userBias: true }, schemaOf(ds));
  const after = (o: LocalOptions, round: number) => {
    const store = new ParamStore(be!, model.specs, new Rng(1));
    new LocalTrainer(model, store, ds, split, o).train(2, round, new Rng(5));
    return Array.from(store.be.f.subarray(store.buffer("shared").values, store.buffer("shared").values + store.buffer("shared").size)).concat(
      Array.from(store.be.f.subarray(store.buffer("private").values, store.buffer("private").values + store.buffer("private").size)),
    );
  };
  const base: LocalOptions = { ...defaultConfig().local, private: { optimizer: "sgd", lr: 0.2, extraSteps: 1, biasInit: "zero" } };
  const halved: LocalOptions = { ...base, lr: 0.05, private: { ...base.private!, lr: 0.1 } };
  // exp from 1 to 0.25 over rounds 1..3: round 2's multiplier is 0.5
  const sched: LocalOptions = { ...base, lr: 0.1, lrSchedule: { kind: "exp", final: 0.25, span: 3 } };
  assert.equal(after(sched, 2), after(halved, 7));
  assert.equal(after(sched, 1), after({ ...base, lr: 0.1 }, 1));
  assert.throws(() => new LocalTrainer(model, new ParamStore(be!, model.specs, new Rng(1)), ds, split, { ...base, lrSchedule: { kind: "cosine", final: 2, span: 3 } }), /final must be in \(0, 1\]/);
});

function config(regime: "mrff" | "central"): TrainConfig {
  const c = defaultConfig(regime);
  c.data = { kind: "synthetic", options: { users: 30, items: 150, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 10, fieldDim: 4, groups: 2, mlp: [8] };
  c.local = { ...c.local, lrSchedule: { kind: "cosine", final: 0.1, span: 3 } };
  c.rounds = 3;
  c.chunk = 8;
  c.batchSize = 8;
  c.bootstrap = 50;
  return c;
}

const numbers = (rows: RoundRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

test("under a schedule a stopped run resumes to the uninterrupted numbers (federated and central), and the schedule changes them", async () => {
  for (const regime of ["mrff", "central"] as const) {
    const whole = await train(config(regime), { workers: 0, out: tmp() });
    const out = tmp();
    const stop = new AbortController();
    await train(config(regime), { workers: 0, out, signal: stop.signal, onRound: (row) => row.round === 1 && stop.abort() });
    const resumed = await resumeTraining(out, { workers: 0 });
    assert.equal(numbers(resumed.report.rounds), numbers(whole.report.rounds), regime);
    const flat = config(regime);
    delete flat.local.lrSchedule;
    const constant = await train(flat, { workers: 0, out: tmp() });
    assert.equal(numbers(constant.report.rounds)[0], numbers(whole.report.rounds)[0], `${regime}: round 1 is at the full lr`);
    assert.not.equal(numbers(constant.report.rounds)[2], numbers(whole.report.rounds)[2], `${regime}: round 3 is not`);
  }
});

test("--lr-schedule, --lr-final, --lr-span: the span defaults to --rounds; a stray flag is a usage error", () => {
  const of = (...args: string[]) => configFromArgs(parseTrainArgs(args)).local.lrSchedule;
  assert.equal(of("--rounds", "20", "--lr-schedule", "cosine"), { kind: "cosine", final: 0.1, span: 20 });
  assert.equal(of("--lr-schedule", "exp", "--lr-final", "0.3", "--lr-span", "8"), { kind: "exp", final: 0.3, span: 8 });
  assert.is(of(), undefined);
  assert.is(of("--lr-schedule", "constant"), undefined);
  assert.throws(() => of("--lr-final", "0.2"), /--lr-final needs --lr-schedule cosine or exp/);
  assert.throws(() => of("--lr-schedule", "constant", "--lr-span", "4"), /--lr-span needs --lr-schedule cosine or exp/);
  assert.throws(() => of("--lr-schedule", "cosine", "--lr-final", "0"), /--lr-final must be in \(0, 1\], got '0'/);
  assert.throws(() => of("--lr-schedule", "linear"), /--lr-schedule must be one of constant, cosine, exp, got 'linear'/);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
