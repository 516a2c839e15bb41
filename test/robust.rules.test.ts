// Robust aggregation's numeric core: O(n) selection (select.ts), the correctly rounded sum
// (exact-sum.ts) and the rules (aggregate-rows.ts; foolsgold's trust has its own test file), against plain references and the
// properties the coordinator relies on. Tolerances: none unless stated — order invariance and the
// references are bit-exact.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ExactSum, sumInPlace } from "../src/util/exact-sum.js";
import { medianOf, selectKth } from "../src/util/select.js";
import { aggregateRows, type ClientRows } from "../src/federated/robust/aggregate-rows.js";
import { parseRuleKinds, type Rule, type RuleKind } from "../src/federated/robust/rules.js";

const RUNS = 100;
const KINDS: RuleKind[] = ["mean", "median", "trimmed", "normbound", "rlr", "consensus"];

/** Values with many ties (small integers), or spread over magnitudes. */
const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.float({ min: -1e6, max: 1e6, noNaN: true }).map(Math.fround));

const sorted = (a: ArrayLike<number>) => Float64Array.from(a).sort();

test("selectKth puts the k-th smallest at k and partitions around it, for any subrange", () => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(), fc.nat(), (xs, p, q, kk) => {
      const a = Float64Array.from(xs);
      const lo = p % a.length;
      const hi = lo + 1 + (q % (a.length - lo));
      const k = lo + (kk % (hi - lo));
      const want = sorted(a.subarray(lo, hi))[k - lo]!;
      const outside = [...a.subarray(0, lo), ...a.subarray(hi)];
      assert.is(selectKth(a, lo, hi, k), want);
      for (let i = lo; i < k; i++) assert.ok(a[i]! <= want);
      for (let i = k + 1; i < hi; i++) assert.ok(a[i]! >= want);
      assert.equal([...a.subarray(0, lo), ...a.subarray(hi)], outside, "values outside the range moved");
    }),
    { numRuns: RUNS, seed: 1 },
  );
  assert.throws(() => selectKth(new Float64Array(3), 0, 3, 3), /index 3 is not in \[0, 3\)/);
  assert.throws(() => selectKth(new Float64Array(0), 0, 0, 0), /not in/);
  assert.is(selectKth(Float64Array.of(5), 0, 1, 0), 5);
});

test("medianOf is the middle of the sorted values, or the mean of the two middle ones", () => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 100 }), (xs) => {
      const s = sorted(xs);
      const n = s.length;
      const want = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
      assert.is(medianOf(Float64Array.from(xs), 0, n), want);
    }),
    { numRuns: RUNS, seed: 2 },
  );
  assert.throws(() => medianOf(new Float64Array(0), 0, 0), /no values/);
});

/** The exact sum of doubles through BigInt, rounded once (Number(bigint) rounds to nearest, ties even). */
function exactReference(xs: number[]): number {
  const E = 1200; // every finite double is a multiple of 2^-1074
  let total = 0n;
  for (const x of xs) {
    if (x === 0) continue;
    let e = Math.max(Math.floor(Math.log2(Math.abs(x))) - 53, -1074);
    // x = m·2^e with m an integer (up to 54 bits)
    while (!Number.isInteger(x / 2 ** e)) e--;
    total += BigInt(x / 2 ** e) << BigInt(e + E);
  }
  // scale back in two exact steps (2^-1200 is below the smallest double)
  const neg = total < 0n;
  const mag = neg ? -total : total;
  const bits = mag.toString(2).length;
  const shift = Math.max(0, bits - 60);
  // keep 60 bits + a sticky bit so that Number() rounds as the full value would
  const top = (mag >> BigInt(shift)) | (mag & ((1n << BigInt(shift)) - 1n) ? 1n : 0n);
  const v = Number(top) * 2 ** (shift - E + 600) * 2 ** -600;
  return neg ? -v : v;
}

const term = fc.tuple(fc.integer({ min: -(2 ** 24), max: 2 ** 24 }), fc.integer({ min: -60, max: 60 })).map(([m, e]) => m * 2 ** e);

test("ExactSum and sumInPlace give the correctly rounded exact sum, in any order", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(term, fc.double({ min: -1e10, max: 1e10, noNaN: true })), { maxLength: 60 }), fc.nat(), (xs, seed) => {
      const acc = new ExactSum();
      for (const x of xs) acc.add(x);
      const want = exactReference(xs);
      assert.is(acc.value(), want);
      const shuffled = [...xs].sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13) || a - b);
      assert.is(sumInPlace(Float64Array.from(shuffled), 0, xs.length, new ExactSum()), want);
    }),
    { numRuns: RUNS * 3, seed: 3 },
  );
  // cancellation that a running double sum gets wrong
  assert.is(sumInPlace(Float64Array.of(1e16, 1, -1e16, 1), 0, 4, new ExactSum()), 2);
  assert.is(sumInPlace(new Float64Array(0), 0, 0, new ExactSum()), 0);
  // the paths outside the grid's exponent range: huge and subnormal terms
  for (const xs of [[1e300, 3e299, -1e300, 1], [5e-324, 1e-310, -3e-320, 2e-300]]) {
    const acc = new ExactSum();
    for (const x of xs) acc.add(x);
    assert.is(sumInPlace(Float64Array.from(xs), 0, xs.length, new ExactSum()), acc.value(), String(xs));
  }
});

function rowsOf(rows: number[][], weights?: number[]): ClientRows {
  return { rows: rows.map((r) => Float32Array.from(r)), clients: rows.map((_, i) => 100 + i), weights: weights ?? rows.map(() => 1) };
}

function run(rule: Rule, input: ClientRows): Float64Array {
  const out = new Float64Array(input.rows[0]?.length ?? 0);
  aggregateRows(rule, input, out);
  return out;
}

const rule = (kind: RuleKind, trim = 0.2, bound: Rule["bound"] = "median", agree = 0.1): Rule => ({ kind, trim, bound, agree });

/** n clients × d coordinates of f32 values. */
const matrix = fc.integer({ min: 1, max: 12 }).chain((d) => fc.array(fc.array(value.map(Math.fround), { minLength: d, maxLength: d }), { minLength: 1, maxLength: 30 }));

test("order invariance: permuting the clients gives bit-identical output, for every rule", () => {
  fc.assert(
    fc.property(matrix, fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 30, maxLength: 30 }), fc.nat(), (m, w, seed) => {
      const n = m.length;
      const perm = Array.from({ length: n }, (_, i) => i).sort((a, b) => ((a * 2654435761 + seed) >>> 0) % 97 - ((b * 2654435761 + seed) >>> 0) % 97 || a - b);
      for (const kind of KINDS) {
        for (const r of [rule(kind), rule(kind, 0.3, 2.5)]) {
          const weights = kind === "mean" || kind === "normbound" || kind === "rlr" || kind === "consensus" ? w.slice(0, n) : undefined;
          const a = run(r, rowsOf(m, weights));
          const b = run(r, rowsOf(perm.map((i) => m[i]!), weights && perm.map((i) => weights[i]!)));
          assert.equal(b, a, `${kind} changed under a permutation`);
        }
      }
    }),
    { numRuns: RUNS, seed: 4 },
  );
});

test("idempotence: identical clients give their update back (normbound: scaled to a fixed bound below its norm)", () => {
  fc.assert(
    fc.property(fc.array(value.map(Math.fround), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 500 }), (x, n, w) => {
      const m = Array.from({ length: n }, () => x);
      const want = Float64Array.from(x);
      for (const kind of KINDS) assert.equal(run(rule(kind), rowsOf(m, kind === "median" || kind === "trimmed" ? undefined : m.map(() => w))), want, kind);
      const norm = Math.hypot(...x);
      if (norm > 0) {
        const got = run(rule("normbound", 0, norm / 2), rowsOf(m));
        got.forEach((v, j) => assert.ok(Math.abs(v - x[j]! / 2) <= 1e-12 * norm, `normbound ${v} vs ${x[j]! / 2}`));
      }
    }),
    { numRuns: RUNS, seed: 5 },
  );
});

test("trimmed mean with β = 0 equals the mean, bit for bit; with β > 0 it drops ⌊β·n⌋ values at each end", () => {
  fc.assert(
    fc.property(matrix, (m) => {
      assert.equal(run(rule("trimmed", 0), rowsOf(m)), run(rule("mean"), rowsOf(m)));
      const n = m.length;
      const k = Math.floor(0.2 * n);
      const got = run(rule("trimmed", 0.2), rowsOf(m));
      got.forEach((v, j) => {
        const s = sorted(m.map((r) => r[j]!)).subarray(k, n - k);
        const want = s.reduce((a, b) => a + b, 0) / s.length;
        assert.ok(Math.abs(v - want) <= 1e-9 * Math.max(1, ...s.map(Math.abs)), `coordinate ${j}: ${v} vs ${want}`);
      });
    }),
    { numRuns: RUNS, seed: 6 },
  );
});

// One client at 1e9 in every coordinate joins n honest ones. The median can move by at most the
// spread of the honest values in a coordinate (it stays between their min and max): that is
// "how far one client moves the median". The median and the trimmed mean (trimming at least one
// value at each end) stay within the same bound; norm bounding with a fixed C moves by at most
// 2C/(n+1) in L2 norm, and with the median norm stays within the largest honest norm. The mean
// moves by about 1e9/(n+1).
test("one client at 1e9 moves a robust rule no more than the median can move", () => {
  fc.assert(
    fc.property(matrix.filter((m) => m.length >= 2), (m) => {
      const n = m.length;
      const d = m[0]!.length;
      const attacked = [...m, Array.from({ length: d }, () => 1e9)];
      const lo = Array.from({ length: d }, (_, j) => Math.min(...m.map((r) => r[j]!)));
      const hi = Array.from({ length: d }, (_, j) => Math.max(...m.map((r) => r[j]!)));
      const trim = 1 / (n + 1) + 1e-9; // trims exactly one value at each end of n + 1
      for (const r of [rule("median"), rule("trimmed", Math.min(trim + 0.1, 0.49))]) {
        const before = run(r, rowsOf(m));
        const after = run(r, rowsOf(attacked));
        for (let j = 0; j < d; j++) {
          assert.ok(after[j]! >= lo[j]! && after[j]! <= hi[j]!, `${r.kind}: ${after[j]} left [${lo[j]}, ${hi[j]}]`);
          assert.ok(Math.abs(after[j]! - before[j]!) <= hi[j]! - lo[j]!, `${r.kind} moved by more than the honest spread`);
        }
      }
      const C = 3;
      const before = run(rule("normbound", 0, C), rowsOf(m));
      const after = run(rule("normbound", 0, C), rowsOf(attacked));
      assert.ok(Math.hypot(...after.map((v, j) => v - before[j]!)) <= ((2 * C) / (n + 1)) * (1 + 1e-9), "normbound (fixed C) moved by more than 2C/(n+1)");
      const honestMax = Math.max(...m.map((r) => Math.hypot(...r)));
      // rlr and consensus only flip or zero coordinates of the norm-bounded mean: the same ball
      for (const kind of ["normbound", "rlr", "consensus"] as const) assert.ok(Math.hypot(...run(rule(kind), rowsOf(attacked))) <= honestMax * (1 + 1e-9), `${kind} (median) left the honest ball`);
      const mean = run(rule("mean"), rowsOf(attacked));
      assert.ok(mean.every((v, j) => v >= 1e9 / (n + 1) + lo[j]! * (n / (n + 1)) - 1e-3), "the mean is not robust: it must follow the outlier");
    }),
    { numRuns: RUNS, seed: 7 },
  );
});

test("NaN and ±Inf are rejected with an error naming the client", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const kind of KINDS) {
      const input = rowsOf([[1, 2], [3, 4], [5, 6]]);
      (input.rows[1] as Float32Array)[1] = bad;
      assert.throws(() => run(rule(kind), input), (e: Error) => /client 101/.test(e.message) && /coordinate 1/.test(e.message), `${kind} ${bad}`);
    }
  }
});

test("edge cases: one client, zero coordinates, column blocks, bad shapes, weights and settings", () => {
  for (const kind of KINDS) assert.equal(run(rule(kind), rowsOf([[1.5, -2]])), Float64Array.of(1.5, -2), kind);
  const empty = new Float64Array(0);
  aggregateRows(rule("median"), rowsOf([[], []]), empty);
  // more clients than fit one 2^19-value column block with 5 columns: several blocks
  const n = 150_001;
  const rows = Array.from({ length: n }, (_, i) => Float32Array.of(i % 7, -i, i === 0 ? 1e9 : 0, (i * 31) % 1000, 1));
  const input = { rows, clients: rows.map((_, i) => i), weights: new Float64Array(n).fill(1) };
  const med = new Float64Array(5);
  aggregateRows(rule("median"), input, med);
  assert.equal(med, Float64Array.of(3, -75000, 0, sorted(rows.map((r) => r[3]!))[75000]!, 1));
  assert.throws(() => run(rule("mean"), rowsOf([])), /no clients/);
  assert.throws(() => aggregateRows(rule("mean"), rowsOf([[1, 2], [3]]), new Float64Array(2)), /client 101 sent 1 values, expected 2/);
  assert.throws(() => run(rule("mean"), rowsOf([[1], [2]], [1, 0])), /client 101 has weight 0/);
  assert.throws(() => run(rule("median"), rowsOf([[1], [2]], [1, 2])), /median counts every client once/);
  assert.throws(() => run(rule("trimmed", 0.5), rowsOf([[1]])), /trim must be in \[0, 0.5\)/);
  assert.throws(() => run(rule("normbound", 0, -1), rowsOf([[1]])), /bound must be a positive number or 'median'/);
  for (const agree of [0, 1.5, NaN]) assert.throws(() => run(rule("consensus", 0, "median", agree), rowsOf([[1]])), /agree must be a fraction in \(0, 1\]/, String(agree));
  // a median norm of 0 scales every update to zero, without 0/0
  assert.equal(run(rule("normbound"), rowsOf([[0, 0], [0, 0], [1, 1]])), Float64Array.of(0, 0));
});

/** The signs' sum per coordinate (a zero abstains). */
const votesOf = (m: number[][]) => m[0]!.map((_, j) => m.reduce((s, r) => s + Math.sign(r[j]!), 0));

test("rlr and consensus are the norm-bounded mean, stepping against it (rlr) or keeping the value (consensus) exactly where |Σ signs| < ⌈agree·n⌉", () => {
  fc.assert(
    fc.property(matrix, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 30, maxLength: 30 }), (m, agree, w) => {
      const n = m.length;
      const input = rowsOf(m, w.slice(0, n));
      const nb = new Float64Array(m[0]!.length);
      const nbSummary = aggregateRows(rule("normbound"), input, nb);
      const theta = Math.ceil(agree * n);
      const low = votesOf(m).map((v) => Math.abs(v) < theta);
      for (const kind of ["rlr", "consensus"] as const) {
        const out = new Float64Array(nb.length);
        const summary = aggregateRows(rule(kind, 0, "median", agree), input, out);
        low.forEach((l, j) => assert.is(out[j], !l ? nb[j]! : kind === "rlr" ? 0 - nb[j]! : 0, `${kind} coordinate ${j}, θ ${theta}`));
        assert.equal([summary.bound, summary.clipped, summary.lowAgreement], [nbSummary.bound, nbSummary.clipped, low.filter(Boolean).length], kind);
      }
    }),
    { numRuns: RUNS, seed: 8 },
  );
});

// k sybils push coordinate 0, which the n honest clients leave alone (a rare embedding row), and
// agree with each other on coordinate 1, where the honest clients split evenly. With k below θ
// rlr steps against the sybils on both and consensus leaves both alone; the plain mean and
// normbound follow them.
test("rlr and consensus: fewer sybils than θ cannot move coordinates the honest clients do not agree on", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 5, max: 40 }), fc.double({ min: 0.01, max: 2, noNaN: true }), (k, half, x) => {
      const honest = Array.from({ length: 2 * half }, (_, i) => [0, i % 2 ? x : -x, x]);
      const sybils = Array.from({ length: k }, () => [x, x, x]);
      const m = [...honest, ...sybils];
      const agree = Math.min(1, (k + 1) / m.length);
      const rlr = run(rule("rlr", 0, "median", agree), rowsOf(m));
      assert.ok(rlr[0]! < 0 && rlr[1]! < 0, `rlr followed the sybils: ${rlr[0]}, ${rlr[1]}`);
      const consensus = run(rule("consensus", 0, "median", agree), rowsOf(m));
      assert.ok(consensus[0] === 0 && consensus[1] === 0, `consensus moved: ${consensus[0]}, ${consensus[1]}`);
      // coordinate 2: everybody agrees, so both step along the mean
      assert.ok(rlr[2]! > 0 && consensus[2]! > 0, `a coordinate every client agrees on did not move along the mean: ${rlr[2]}, ${consensus[2]}`);
      for (const kind of ["mean", "normbound"] as const) {
        const plain = run(rule(kind), rowsOf(m));
        assert.ok(plain[0]! > 0 && plain[1]! > 0, `${kind} did not follow the sybils`);
      }
    }),
    { numRuns: RUNS, seed: 9 },
  );
});

test("parseRuleKinds reads one kind or one per partition", () => {
  assert.equal(parseRuleKinds("median"), { shared: "median", group: "median" });
  assert.equal(parseRuleKinds("group=trimmed"), { shared: "mean", group: "trimmed" });
  assert.equal(parseRuleKinds("shared=normbound, group=median"), { shared: "normbound", group: "median" });
  assert.throws(() => parseRuleKinds("mode"), /'mode' is not one of mean, median, trimmed, normbound/);
  assert.throws(() => parseRuleKinds("private=median"), /'private' is not a partition/);
});

test.run();
