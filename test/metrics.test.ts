// AUC against the O(n²) pair count it abbreviates, LogLoss edge cases, and the bootstrap interval.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { auc, bootstrapAuc, LOGLOSS_EPS, logLoss } from "../src/metrics/index.js";
import { aucOfRanking, rank } from "../src/metrics/auc.js";
import { Rng } from "../src/util/rng.js";

/** Fraction of (positive, negative) pairs ordered correctly, a tie counting one half. */
function pairCount(scores: number[], labels: number[]): number {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      good += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return good / pairs;
}

/** Scores from a few values (ties are common) or any doubles, with labels. */
const scoredArb = fc
  .oneof(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 80 }), fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 80 }))
  .chain((scores) => fc.tuple(fc.constant(scores), fc.array(fc.integer({ min: 0, max: 1 }), { minLength: scores.length, maxLength: scores.length })));

test("AUC equals the pair count, ties included; NaN when one class is missing", () => {
  fc.assert(
    fc.property(scoredArb, ([scores, labels]) => {
      const got = auc(scores, labels);
      const both = labels.includes(0) && labels.includes(1);
      if (!both) return Number.isNaN(got);
      return Math.abs(got - pairCount(scores, labels)) < 1e-12;
    }),
    { numRuns: 500, seed: 21 },
  );
});

test("AUC of a reweighted ranking equals AUC of the data repeated by those weights", () => {
  fc.assert(
    fc.property(scoredArb, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 80, maxLength: 80 }), ([scores, labels], weights) => {
      const s: number[] = [];
      const y: number[] = [];
      scores.forEach((v, i) => {
        for (let k = 0; k < weights[i]; k++) {
          s.push(v);
          y.push(labels[i]);
        }
      });
      const got = aucOfRanking(rank(scores), labels, weights);
      const want = y.includes(0) && y.includes(1) ? pairCount(s, y) : NaN;
      return Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) < 1e-12;
    }),
    { numRuns: 300, seed: 22 },
  );
});

test("AUC: known values and refused inputs", () => {
  assert.is(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.is(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.is(auc([0.5, 0.5, 0.5], [0, 1, 1]), 0.5);
  assert.is(auc(new Float32Array([-Infinity, 0, Infinity]), new Uint8Array([0, 1, 1])), 1);
  assert.ok(Number.isNaN(auc([0.3, 0.7], [1, 1])));
  assert.throws(() => auc([], []), /no predictions/);
  assert.throws(() => auc([0.1, 0.2], [0]), /2 predictions but 1 labels/);
  assert.throws(() => auc([0.1, 0.2], [0, 2]), /label 1 is 2/);
  assert.throws(() => auc([0.1, NaN], [0, 1]), /score 1 is NaN/);
});

test("AUC sorts rather than compares pairs: 200,000 predictions take well under a second", () => {
  const rng = new Rng(5);
  const n = 200_000;
  const y = Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  const s = y.map((v) => v + 2 * rng.normal());
  const t0 = performance.now();
  const a = auc(s, y);
  assert.ok(performance.now() - t0 < 3000);
  assert.ok(Math.abs(a - 0.638) < 0.01, `AUC ${a}`); // Φ(1/(2√2)) for unit separation at σ = 2
});

test("LogLoss: values, clipping at the stated eps, single class, refused inputs", () => {
  assert.ok(Math.abs(logLoss([0.5, 0.5], [0, 1]) - Math.LN2) < 1e-15);
  assert.ok(Math.abs(logLoss([0.9, 0.2], [1, 0]) - -(Math.log(0.9) + Math.log(0.8)) / 2) < 1e-15);
  assert.ok(Math.abs(logLoss([0], [1]) + Math.log(LOGLOSS_EPS)) < 1e-12, "p = 0 for a click costs −ln eps, not ∞");
  assert.ok(Math.abs(logLoss([1], [0]) + Math.log(LOGLOSS_EPS)) < 1e-9);
  assert.ok(Math.abs(logLoss([1], [1]) - LOGLOSS_EPS) < 1e-12, "p = 1 for a click costs ≈ eps, not 0");
  assert.ok(Math.abs(logLoss([0], [1], 1e-3) + Math.log(1e-3)) < 1e-12);
  assert.ok(Math.abs(logLoss([0.25, 0.25], [1, 1]) - Math.log(4)) < 1e-15);
  assert.ok(Number.isFinite(logLoss(new Float32Array([0, 1, 0.999999]), [1, 0, 0])));
  assert.throws(() => logLoss([], []), /no predictions/);
  assert.throws(() => logLoss([0.5], [0, 1]), /1 predictions but 2 labels/);
  assert.throws(() => logLoss([1.5], [1]), /probability 0 is 1.5/);
  assert.throws(() => logLoss([NaN], [1]), /probability 0 is NaN/);
  assert.throws(() => logLoss([0.5], [-1]), /label 0 is -1/);
  assert.throws(() => logLoss([0.5], [1], 0), /eps must be in/);
});

function noisyScores(n: number, seed: number): { s: number[]; y: number[] } {
  const rng = new Rng(seed);
  const y = Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  return { s: y.map((v) => v + 1.5 * rng.normal()), y };
}

test("bootstrap: the interval holds the point estimate, narrows with more data, and repeats per seed", () => {
  const small = noisyScores(300, 1);
  const large = noisyScores(5000, 2);
  const a = bootstrapAuc(small.s, small.y, new Rng(7), { resamples: 500 });
  const b = bootstrapAuc(large.s, large.y, new Rng(7), { resamples: 500 });
  for (const r of [a, b]) {
    assert.ok(r.lo < r.auc && r.auc < r.hi, JSON.stringify(r));
    assert.is(r.degenerate, 0);
  }
  assert.is(a.auc, auc(small.s, small.y));
  // Width shrinks like 1/√n: 5000/300 predicts a ratio near 4.
  const ratio = (a.hi - a.lo) / (b.hi - b.lo);
  assert.ok(ratio > 2.5 && ratio < 6.5, `width ratio ${ratio}`);
  assert.equal(bootstrapAuc(small.s, small.y, new Rng(7), { resamples: 500 }), a);
  assert.not.equal(bootstrapAuc(small.s, small.y, new Rng(8), { resamples: 500 }), a);
  const narrow = bootstrapAuc(small.s, small.y, new Rng(7), { resamples: 500, level: 0.5 });
  assert.ok(narrow.hi - narrow.lo < a.hi - a.lo);
});

test("bootstrap: single-class resamples are counted and left out; refused inputs", () => {
  const r = bootstrapAuc([0.2, 0.8], [0, 1], new Rng(3), { resamples: 400 });
  assert.ok(r.degenerate > 100 && r.degenerate < 300, `${r.degenerate} of 400`); // half are single-class
  assert.is([r.auc, r.lo, r.hi].join(), "1,1,1"); // every two-class resample orders the pair correctly
  const none = bootstrapAuc([0.2, 0.8], [1, 1], new Rng(3), { resamples: 10 });
  assert.equal([none.auc, none.lo, none.hi, none.degenerate], [NaN, NaN, NaN, 10]);
  assert.throws(() => bootstrapAuc([], [], new Rng(1)), /no predictions/);
  assert.throws(() => bootstrapAuc([0.1], [1], new Rng(1), { resamples: 0 }), /resamples must be a positive integer/);
  assert.throws(() => bootstrapAuc([0.1], [1], new Rng(1), { level: 1 }), /level must be in \(0, 1\)/);
});

test.run();
