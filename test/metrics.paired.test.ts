// The paired bootstrap of an AUC difference: exact identities (same model, swapped models, a
// monotone transform), power against a clearly better model, reproducibility, pooling over seeds,
// and refused inputs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { auc, bootstrapAuc, pairedBootstrapAuc, pooledPairedBootstrapAuc } from "../src/metrics/index.js";
import { Rng } from "../src/util/rng.js";

/** Labels with at least 2 of each class, and integer scores (ties common; a cubic keeps them exact). */
const labelledArb = fc
  .array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 120 })
  .filter((y) => y.filter((v) => v === 1).length >= 2 && y.filter((v) => v === 0).length >= 2)
  .chain((y) => fc.tuple(fc.constant(y), fc.array(fc.integer({ min: -20, max: 20 }), { minLength: y.length, maxLength: y.length }), fc.array(fc.integer({ min: -20, max: 20 }), { minLength: y.length, maxLength: y.length })));

const OPTS = { resamples: 200 };

test("identical score vectors: difference 0, interval [0, 0], every resample ≤ 0", () => {
  fc.assert(
    fc.property(labelledArb, fc.integer(), ([y, s], seed) => {
      const r = pairedBootstrapAuc(y, s, s.slice(), new Rng(seed), OPTS);
      return r.diff === 0 && r.lo === 0 && r.hi === 0 && r.atMostZero === 1;
    }),
    { numRuns: 100, seed: 31 },
  );
});

test("a strictly increasing transform of the scores ranks the same: difference 0 (x³ + 2x on integers is exact)", () => {
  fc.assert(
    fc.property(labelledArb, fc.integer(), ([y, s], seed) => {
      const r = pairedBootstrapAuc(y, s, s.map((x) => x ** 3 + 2 * x), new Rng(seed), OPTS);
      return r.diff === 0 && r.lo === 0 && r.hi === 0;
    }),
    { numRuns: 100, seed: 32 },
  );
});

test("swapping the models negates the difference and mirrors the interval (to 1e-12)", () => {
  fc.assert(
    fc.property(labelledArb, fc.integer(), ([y, a, b], seed) => {
      const ab = pairedBootstrapAuc(y, a, b, new Rng(seed), OPTS);
      const ba = pairedBootstrapAuc(y, b, a, new Rng(seed), OPTS);
      const close = (p: number, q: number) => Math.abs(p - q) <= 1e-12;
      return ab.diff === -ba.diff && close(ab.lo, -ba.hi) && close(ab.hi, -ba.lo) && ab.degenerate === ba.degenerate;
    }),
    { numRuns: 100, seed: 33 },
  );
});

test("the observed difference is AUC(a) − AUC(b); the resamples are bootstrapAuc's draws", () => {
  fc.assert(
    fc.property(labelledArb, fc.integer(), ([y, a, b], seed) => {
      const r = pairedBootstrapAuc(y, a, b, new Rng(seed), OPTS);
      // b constant: AUC(b) is 1/2 on every resample, so the interval is bootstrapAuc(a)'s shifted
      const flat = pairedBootstrapAuc(y, a, a.map(() => 0), new Rng(seed), OPTS);
      const alone = bootstrapAuc(a, y, new Rng(seed), OPTS);
      return r.diff === auc(a, y) - auc(b, y) && Math.abs(flat.lo - (alone.lo - 0.5)) < 1e-12 && Math.abs(flat.hi - (alone.hi - 0.5)) < 1e-12;
    }),
    { numRuns: 100, seed: 34 },
  );
});

test("a clearly better model (label + small noise against pure noise): the interval excludes 0", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rng = new Rng(seed);
    const y = Array.from({ length: 300 }, (_, i) => (i < 6 ? i % 2 : rng.int(2)));
    const better = y.map((v) => v + rng.normal() * 0.5);
    const noise = y.map(() => rng.normal());
    const r = pairedBootstrapAuc(y, better, noise, new Rng(seed), { resamples: 500 });
    assert.ok(r.lo > 0 && r.lo <= r.diff && r.diff <= r.hi, JSON.stringify(r));
    assert.is(r.atMostZero, 0);
  }
});

test("seeded: the same seed repeats every number, another seed moves the interval", () => {
  const rng = new Rng(9);
  const y = Array.from({ length: 200 }, (_, i) => (i < 4 ? i % 2 : rng.int(2)));
  const a = y.map((v) => v * 0.3 + rng.next());
  const b = y.map((v) => v * 0.2 + rng.next());
  const r = pairedBootstrapAuc(y, a, b, new Rng(5), OPTS);
  assert.equal(pairedBootstrapAuc(y, a, b, new Rng(5), OPTS), r);
  assert.not.equal(pairedBootstrapAuc(y, a, b, new Rng(6), OPTS).lo, r.lo);
  assert.ok(r.lo <= r.diff && r.diff <= r.hi && r.atMostZero >= 0 && r.atMostZero <= 1);
});

test("pooled over seeds: one pair is the paired bootstrap; a pair repeated changes nothing; the mean of the differences", () => {
  fc.assert(
    fc.property(labelledArb, fc.integer(), ([y, a, b], seed) => {
      const one = pairedBootstrapAuc(y, a, b, new Rng(seed), OPTS);
      const single = pooledPairedBootstrapAuc(y, [{ a, b }], new Rng(seed), OPTS);
      const twice = pooledPairedBootstrapAuc(y, [{ a, b }, { a, b }], new Rng(seed), OPTS);
      const mixed = pooledPairedBootstrapAuc(y, [{ a, b }, { a: b, b: a }], new Rng(seed), OPTS);
      return JSON.stringify(single) === JSON.stringify(one) && JSON.stringify(twice) === JSON.stringify(one) && mixed.diff === 0 && mixed.lo === 0 && mixed.hi === 0;
    }),
    { numRuns: 60, seed: 35 },
  );
});

test("huge and infinite scores rank like any others", () => {
  const y = [0, 1, 0, 1, 1, 0];
  const a = [-Infinity, 1e308, -1e308, Infinity, 5e307, 0];
  const r = pairedBootstrapAuc(y, a, [0, 6, 1, 5, 4, 2], new Rng(1), OPTS);
  assert.is(r.diff, 0);
  assert.is(r.hi, 0);
});

test("bad input is refused with the parameter named", () => {
  const y = [0, 1, 0, 1];
  const s = [0.1, 0.9, 0.2, 0.8];
  const cases: [() => unknown, RegExp][] = [
    [() => pairedBootstrapAuc(y, s, s.slice(1), new Rng(1)), /pairedBootstrapAuc: scoresB has 3 scores but labels has 4/],
    [() => pairedBootstrapAuc(y, [0.1, 0.2], s, new Rng(1)), /scoresA has 2 scores but labels has 4/],
    [() => pairedBootstrapAuc(y, [0.1, NaN, 0.2, 0.3], s, new Rng(1)), /pairedBootstrapAuc: scoresA\[1\] is NaN/],
    [() => pairedBootstrapAuc(y, s, [0.1, 0.2, 0.3, NaN], new Rng(1)), /scoresB\[3\] is NaN/],
    [() => pairedBootstrapAuc([0, 1, 2, 1], s, s, new Rng(1)), /labels\[2\] is 2, not 0 or 1/],
    [() => pairedBootstrapAuc([0, 1, 0, 0], s, s, new Rng(1)), /labels needs at least 2 positives and 2 negatives, got 1 and 3/],
    [() => pairedBootstrapAuc([], [], [], new Rng(1)), /labels needs at least 2 positives and 2 negatives, got 0 and 0/],
    [() => pairedBootstrapAuc(y, s, s, new Rng(1), { resamples: 0 }), /resamples must be a positive integer/],
    [() => pairedBootstrapAuc(y, s, s, new Rng(1), { level: 1 }), /level must be in \(0, 1\)/],
    [() => pooledPairedBootstrapAuc(y, [], new Rng(1)), /pooledPairedBootstrapAuc: pairs is empty/],
    [() => pooledPairedBootstrapAuc(y, [{ a: s, b: s }, { a: s, b: [1, 2] }], new Rng(1)), /pairs\[1\]\.b has 2 scores but labels has 4/],
  ];
  for (const [f, message] of cases) assert.throws(f, message);
});

test.run();
