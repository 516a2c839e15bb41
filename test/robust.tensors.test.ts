// Per-tensor aggregation rules (robust/tensor-rules.ts, aggregator.tensors): parsing and resolving
// the patterns, the numbers (a tensor with a rule gets that rule over its values alone, every other
// coordinate exactly what the partition's rule gives; both invariant to the clients' order, bit for
// bit), and inside training: bit-identical for 0 and 2 workers, a resumed run equals an
// uninterrupted one, bad patterns are refused naming them, and the command line maps onto the config.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfig, defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { loadArray } from "../src/federated/checkpoint.js";
import { readRunCheckpoint, resumeTraining, train, type RoundRow } from "../src/federated/trainer.js";
import { aggregateRows, type ClientRows } from "../src/federated/robust/aggregate-rows.js";
import { isPlainMean, parseTensorRules, RULE_KINDS, type AggregatorConfig, type Rule, type RuleKind } from "../src/federated/robust/rules.js";
import { aggregateTensors, resolveTensorRules, type TensorSlice } from "../src/federated/robust/tensor-rules.js";
import { configFromArgs, parseTrainArgs } from "../src/cli/train-options.js";

const RUNS = 100;
// every rule but foolsgold (its trust comes from the whole shared row: tested in training below)
const KINDS = RULE_KINDS.filter((k) => k !== "foolsgold");

test("parseTensorRules reads PATTERN=KIND lists and names what is wrong", () => {
  assert.equal(parseTensorRules("mlp.0=consensus"), [{ pattern: "mlp.0", kind: "consensus" }]);
  assert.equal(parseTensorRules("mlp.0 = median, item.fields=trimmed"), [
    { pattern: "mlp.0", kind: "median" },
    { pattern: "item.fields", kind: "trimmed" },
  ]);
  assert.throws(() => parseTensorRules("mlp.0"), /'mlp.0' is not PATTERN=KIND/);
  assert.throws(() => parseTensorRules("mlp.0=consensus=x"), /is not PATTERN=KIND/);
  assert.throws(() => parseTensorRules("=median"), /'=median' is not PATTERN=KIND/);
  assert.throws(() => parseTensorRules("mlp.*=median"), /'mlp\.\*' is not a parameter name pattern/);
  assert.throws(() => parseTensorRules("mlp.0=mode"), /'mode' \(for 'mlp.0'\) is not one of mean, median/);
});

const TENSORS: TensorSlice[] = [
  { name: "item.fields", start: 0, size: 5 },
  { name: "mlp.0.w", start: 8, size: 6 },
  { name: "mlp.0.b", start: 16, size: 2 },
  { name: "mlp.out.w", start: 20, size: 2 },
  { name: "mlp.00", start: 24, size: 1 },
];

test("resolveTensorRules: a pattern names a tensor or a dotted prefix; no match and double matches are errors", () => {
  const units = resolveTensorRules([{ pattern: "mlp.0", kind: "consensus" }, { pattern: "item.fields", kind: "median" }], TENSORS);
  // mlp.0 names mlp.0.w and mlp.0.b, not mlp.00 nor mlp.out.w; sorted by place
  assert.equal(units.map((u) => [u.name, u.kind]), [["item.fields", "median"], ["mlp.0.w", "consensus"], ["mlp.0.b", "consensus"]]);
  assert.equal(resolveTensorRules([], TENSORS), []);
  assert.throws(() => resolveTensorRules([{ pattern: "mlp.1", kind: "median" }], TENSORS), /'mlp.1' names no shared-partition parameter \(they are: item.fields, mlp.0.w/);
  assert.throws(() => resolveTensorRules([{ pattern: "mlp", kind: "median" }, { pattern: "mlp.0.b", kind: "trimmed" }], TENSORS), /parameter mlp.0.b is named by both 'mlp' and 'mlp.0.b'/);
});

/** Values with many ties (small integers), or spread over magnitudes. */
const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.float({ min: -1e6, max: 1e6, noNaN: true })).map(Math.fround);
/** n clients × 26 coordinates (TENSORS' span, with the gaps alignment leaves). */
const matrix = fc.array(fc.array(value, { minLength: 26, maxLength: 26 }), { minLength: 1, maxLength: 25 });

function rowsOf(m: number[][]): ClientRows {
  return { rows: m.map((r) => Float32Array.from(r)), clients: m.map((_, i) => 100 + i), weights: m.map(() => 1) };
}
const rule = (kind: RuleKind): Rule => ({ kind, trim: 0.2, bound: "median", agree: 0.3 });

test("a tensor with a rule gets that rule over its own values; every other coordinate exactly the partition's rule", () => {
  fc.assert(
    fc.property(matrix, fc.constantFrom(...KINDS), fc.constantFrom(...KINDS), fc.constantFrom("mlp.0", "mlp", "item.fields"), (m, base, kind, pattern) => {
      const input = rowsOf(m);
      const units = resolveTensorRules([{ pattern, kind }], TENSORS);
      const got = new Float64Array(26);
      aggregateTensors(rule(base), units, input, got);
      const whole = new Float64Array(26);
      aggregateRows(rule(base), input, whole);
      const inUnit = (j: number) => units.some((u) => j >= u.start && j < u.start + u.size);
      for (let j = 0; j < 26; j++) if (!inUnit(j)) assert.is(got[j], whole[j], `coordinate ${j} outside the tensors`);
      for (const u of units) {
        const own = new Float64Array(u.size);
        aggregateRows(rule(kind), { ...input, rows: input.rows.map((r) => r.subarray(u.start, u.start + u.size)) }, own);
        assert.equal(got.subarray(u.start, u.start + u.size), own, `${u.name} under ${kind}`);
      }
    }),
    { numRuns: RUNS, seed: 11 },
  );
});

test("tensors without a rule get exactly the mean (a partition taking the mean, consensus on mlp.0)", () => {
  fc.assert(
    fc.property(matrix, (m) => {
      const input = rowsOf(m);
      const got = new Float64Array(26);
      aggregateTensors(rule("mean"), resolveTensorRules([{ pattern: "mlp.0", kind: "consensus" }], TENSORS), input, got);
      const mean = new Float64Array(26);
      aggregateRows(rule("mean"), input, mean);
      for (let j = 0; j < 26; j++) if (j < 8 || j >= 18) assert.is(got[j], mean[j], `coordinate ${j}`);
    }),
    { numRuns: RUNS, seed: 12 },
  );
});

test("order invariance per tensor: permuting the clients gives bit-identical output", () => {
  fc.assert(
    fc.property(matrix, fc.constantFrom(...KINDS), fc.constantFrom(...KINDS), fc.nat(), (m, base, kind, seed) => {
      const n = m.length;
      const perm = Array.from({ length: n }, (_, i) => i).sort((a, b) => (((a * 2654435761 + seed) >>> 0) % 97) - (((b * 2654435761 + seed) >>> 0) % 97) || a - b);
      const units = resolveTensorRules([{ pattern: "mlp", kind }], TENSORS);
      const a = new Float64Array(26);
      const b = new Float64Array(26);
      aggregateTensors(rule(base), units, rowsOf(m), a);
      aggregateTensors(rule(base), units, rowsOf(perm.map((i) => m[i]!)), b);
      assert.equal(b, a);
    }),
    { numRuns: RUNS, seed: 13 },
  );
});

test("edge cases: one client gives its row back; NaN in a tensor is rejected naming the client", () => {
  const units = resolveTensorRules([{ pattern: "mlp.0", kind: "median" }], TENSORS);
  const row = Array.from({ length: 26 }, (_, j) => j - 10.5);
  for (const base of KINDS) {
    const out = new Float64Array(26);
    aggregateTensors(rule(base), units, rowsOf([row]), out);
    assert.equal(out, Float64Array.from(row), base);
  }
  const input = rowsOf([row, row]);
  (input.rows[1] as Float32Array)[9] = NaN;
  assert.throws(() => aggregateTensors(rule("mean"), units, input, new Float64Array(26)), /client 101 sent a non-finite value/);
});

function tiny(aggregator?: AggregatorConfig, rounds = 2): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 40, items: 200, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 12, fieldDim: 4, groups: 2, mlp: [8] };
  c.rounds = rounds;
  c.chunk = 7;
  c.bootstrap = 20;
  if (aggregator) c.aggregator = aggregator;
  return c;
}
const withTensors = (tensors: AggregatorConfig["tensors"], shared: RuleKind = "mean"): AggregatorConfig => ({ shared, group: "mean", trim: 0.1, bound: "median", agree: 0.3, tensors });
const numbers = (rows: RoundRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

test("training: tensor rules are bit-identical for 0 and 2 workers and train something other than the mean", async () => {
  for (const agg of [withTensors([{ pattern: "mlp.0", kind: "consensus" }]), withTensors([{ pattern: "mlp", kind: "foolsgold" }, { pattern: "item.fields", kind: "median" }], "normbound")]) {
    const a = await train(tiny(agg), { workers: 0 });
    const b = await train(tiny(agg), { workers: 2 });
    assert.equal(numbers(b.report.rounds), numbers(a.report.rounds));
    assert.equal(b.predictions, a.predictions);
    for (const p of a.predictions!.test) assert.ok(Number.isFinite(p), `prediction ${p}`);
  }
  const mean = await train(tiny(), { workers: 0 });
  const mlp0 = await train(tiny(withTensors([{ pattern: "mlp.0", kind: "consensus" }])), { workers: 0 });
  assert.not.equal(mlp0.predictions!.test, mean.predictions!.test);
  // every tensor rule the mean: the plain chunk-sum path, bit for bit
  assert.ok(isPlainMean(withTensors([{ pattern: "mlp.0", kind: "mean" }])));
  const plain = await train(tiny(withTensors([{ pattern: "mlp.0", kind: "mean" }])), { workers: 0 });
  assert.equal(plain.predictions, mean.predictions);
});

test("training: a run stopped after round 1 and resumed equals the uninterrupted run", async () => {
  const agg = withTensors([{ pattern: "mlp.0", kind: "consensus" }]);
  const dirs = [mkdtempSync(join(tmpdir(), "fedfacet-tensors-")), mkdtempSync(join(tmpdir(), "fedfacet-tensors-"))];
  try {
    const whole = await train(tiny(agg, 3), { workers: 0, out: dirs[0] });
    const stop = new AbortController();
    await train(tiny(agg, 3), { workers: 2, out: dirs[1], signal: stop.signal, onRound: (row) => row.round === 1 && stop.abort() });
    assert.equal(readRunCheckpoint(dirs[1]!).header.config.aggregator, agg, "the tensor rules are in the checkpoint");
    const resumed = await resumeTraining(dirs[1]!, { workers: 0 });
    assert.equal(numbers(resumed.report.rounds), numbers(whole.report.rounds));
    assert.equal(Array.from(loadArray(readRunCheckpoint(dirs[1]!).arrays.global!)), Array.from(loadArray(readRunCheckpoint(dirs[0]!).arrays.global!)));
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test("training: a pattern naming no shared tensor is refused when the engine is built, naming it (also under the mean)", async () => {
  for (const [pattern, kind] of [["mlp.7", "median"], ["block0.group0", "consensus"], ["user.fields", "mean"]] as const) {
    try {
      await FederatedEngine.create(tiny(withTensors([{ pattern, kind }])), 0);
      assert.unreachable(pattern);
    } catch (e) {
      assert.match(String(e), new RegExp(`'${pattern.replace(/\./g, "\\.")}' names no shared-partition parameter \\(they are: item.fields, position`));
    }
  }
});

test("command line: --aggregator-tensors, and what the config refuses", () => {
  const c = configFromArgs(parseTrainArgs(["--aggregator-tensors", "mlp.0=consensus,item.fields=median", "--agree", "0.25"]));
  assert.equal(c.aggregator, { ...withTensors([{ pattern: "mlp.0", kind: "consensus" }, { pattern: "item.fields", kind: "median" }]), agree: 0.25 });
  const both = configFromArgs(parseTrainArgs(["--aggregator", "shared=normbound", "--aggregator-tensors", "mlp=median"]));
  assert.equal(both.aggregator, withTensors([{ pattern: "mlp", kind: "median" }], "normbound"));
  assert.throws(() => configFromArgs(parseTrainArgs(["--aggregator-tensors", "mlp.0=mode"])), /--aggregator-tensors: 'mode' \(for 'mlp.0'\) is not one of .* \(give PATTERN=KIND/);
  assert.throws(() => configFromArgs(parseTrainArgs(["--aggregator-tensors", "mlp.0"])), /--aggregator-tensors: 'mlp.0' is not PATTERN=KIND/);
  const samples = configFromArgs(parseTrainArgs(["--aggregator-tensors", "mlp.0=trimmed", "--weighting", "samples"]));
  assert.throws(() => checkConfig(samples), /aggregator.tensors 'mlp.0' trimmed counts every client once/);
  const twice = tiny(withTensors([{ pattern: "mlp.0", kind: "median" }, { pattern: "mlp.0", kind: "consensus" }]));
  assert.throws(() => checkConfig(twice), /aggregator.tensors 'mlp.0' is given twice/);
  const badKind = tiny(withTensors([{ pattern: "mlp.0", kind: "nope" as RuleKind }]));
  assert.throws(() => checkConfig(badKind), /aggregator.tensors 'mlp.0' must take one of mean, median/);
  const dp = configFromArgs(parseTrainArgs(["--aggregator-tensors", "mlp.0=consensus", "--dp-epsilon", "4", "--dp-delta", "1e-5"]));
  assert.throws(() => checkConfig(dp), /robust aggregator reads per-client deltas/);
  // a config written before tensor rules (no field) still checks and is the plain mean
  const old = tiny({ shared: "mean", group: "mean", trim: 0.1, bound: "median" });
  checkConfig(old);
  assert.ok(isPlainMean(old.aggregator));
});

test.run();
