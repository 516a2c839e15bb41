// The release top-up of DP secure rounds (secagg/noised-vector.ts releaseTopUp, DpRound.release):
// r survivors of a round with threshold T bring noise variance (r/T)·σ²C² (counts (r/T)·(λσ√L)²),
// and the coordinator adds the rest up to ρ = RELEASE_VARIANCE, from its secret key, so that the
// release does not reveal r.
//   - the majority threshold keeps r/T in [1, ρ) for every cohort; other ratios are refused;
//   - the released noise has variance ρσ²C² (counts ρ(λσ√L)²) both at r = T and at r = n;
//   - the top-up comes from the secret key: another key, other noise; the same key, the same.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { GroupLayout } from "../src/federated/aggregate.js";
import { defaultConfig } from "../src/federated/config.js";
import { DpRound } from "../src/federated/coordinator/dp-round.js";
import { addGaussian } from "../src/federated/dp-client.js";
import { COUNT_NOISE_FACTOR, type DpConfig } from "../src/federated/dp-config.js";
import { defaultThreshold } from "../src/federated/secagg/index.js";
import { noisedSpec, RELEASE_VARIANCE, releaseTopUp } from "../src/federated/secagg/noised-vector.js";
import { Rng } from "../src/util/rng.js";

const DP: DpConfig = { epsilon: 100, delta: 1e-5, clip: 0.5, noise: "local", noiseMultiplier: 1.3 };
/** The coordinator's threshold for a DP secure cohort of n (coordinator.ts secureRound). */
const majority = (n: number) => Math.max(2, defaultThreshold(n));

test("the majority threshold keeps r/T in [1, 2) for every cohort of n ≥ 3 and r ≥ T survivors (3/2 at n = 3); other ratios are refused", () => {
  assert.is(RELEASE_VARIANCE, 2);
  assert.is(releaseTopUp(3, majority(3)), 0.5);
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, u) => {
      const T = majority(n);
      const r = Math.min(n, T + Math.floor(u * (n - T + 1)));
      const top = releaseTopUp(r, T);
      assert.ok(top > 0 && top <= 1, `n ${n}, r ${r}, T ${T}: top-up ${top}`);
      assert.ok(Math.abs(top + r / T - RELEASE_VARIANCE) < 1e-12);
    }),
    { numRuns: 500 },
  );
  // the largest ratio, every survivor of the largest cohorts: still below 2
  for (const n of [3, 4, 5, 1e6, 1e6 + 1, 2 ** 31 - 1]) assert.ok(n / majority(n) < 2, `n ${n}`);
  assert.throws(() => releaseTopUp(2, 3), /2 survivors of a round with threshold 3 carry 0\.666.* outside \[1, 2\)/);
  // a fixed threshold lets r/T reach 2 (refused with DP by the coordinator and the CLI)
  assert.throws(() => releaseTopUp(10, 5), /outside \[1, 2\)/);
  assert.throws(() => releaseTopUp(2.5, 2), /outside/);
});

/** A DpRound of a secure run over N registered clients (fedsasrec-like: shared values only, or a small MoE `layout`), secret key [k, 0, …]. */
function dpRound(k: number, shared: number, layout: GroupLayout | null = null, runSeed = 1): DpRound {
  const config = defaultConfig("mrff");
  config.seed = runSeed;
  config.participation = { ratio: 0.5 };
  const groupSize = layout ? layout.size.reduce((s, v) => s + v, 0) : 0;
  const round = new DpRound(DP, config, { sharedSize: shared, blocks: layout?.blocks ?? 0, layout }, groupSize, [k, 0, 0, 0, 0, 0, 0, 0], true);
  // N = 20 registered; the sample itself does not matter here
  round.select(Array.from({ length: 20 }, (_, i) => i + 1), 0, 0);
  return round;
}

/**
 * The released noise of round `round` whose r survivors (cohort n, threshold T) sent zero updates:
 * the devices' noise (r draws of σC/√T from `devices`, and of λσ√L/√T on the counts over `counts`),
 * then the release over zero global values: total = Σ + noise, in units of sums.
 */
function releasedNoise(d: DpRound, round: number, n: number, r: number, devices: Rng, size: number, counts: Float64Array): { deltas: Float64Array; scales: number[] } {
  const T = majority(n);
  const spec = noisedSpec(DP, T, 2, n);
  const total = new Float64Array(size);
  const routeCount = counts.slice();
  for (let i = 0; i < r; i++) {
    addGaussian(total, 0, size, spec.std, devices);
    addGaussian(routeCount, 0, routeCount.length, spec.countStd, devices);
  }
  const rel = d.release(round, new Float32Array(size), 0, T)(total, routeCount, r);
  return { deltas: total, scales: rel.ranges.slice(1).map((x) => x.scale) };
}

const variance = (xs: ArrayLike<number>, mean = 0) => {
  let sq = 0;
  for (let j = 0; j < xs.length; j++) sq += (xs[j]! - mean) ** 2;
  return sq / xs.length;
};

test("the released noise has variance ρσ²C² per delta at r = T and at r = n (before the top-up: 1 and 9/5 of σ²C²)", () => {
  // 60,000 coordinates: a sample variance's relative SE is √(2/60000) = 0.58%, and 4% is ~7 SE.
  // Every draw is seeded (the devices' Rng, the secret key), so the test cannot flake: it either
  // always passes or always fails. Without the top-up the two variances would differ by 9/5.
  const S = 60_000;
  const want = RELEASE_VARIANCE * (DP.noiseMultiplier * DP.clip) ** 2;
  const n = 9; // threshold 5
  for (const r of [5, 9]) {
    const { deltas } = releasedNoise(dpRound(77, S), 0, n, r, new Rng(100 + r), S, new Float64Array(0));
    const v = variance(deltas);
    assert.ok(Math.abs(v / want - 1) < 0.04, `r = ${r}: released variance ${v}, want ${want}`);
  }
});

test("the routed counts' released noise has variance ρ(λσ√L)² at r = T and at r = n", () => {
  // 2 blocks × 300 experts of one value; counts of 1000 keep every noisy count above the expected
  // cohort's share, so each expert's scale is 1/(noisy count). 40 rounds × 600 counts: relative SE
  // of a variance 0.91%, tolerance 5% (~5.5 SE); seeded as above, so it cannot flake.
  const cells = 600;
  const layout: GroupLayout = { blocks: 2, groups: cells / 2, start: Int32Array.from({ length: cells }, (_, c) => c), size: new Int32Array(cells).fill(1) };
  const want = RELEASE_VARIANCE * (COUNT_NOISE_FACTOR * DP.noiseMultiplier * Math.sqrt(2)) ** 2;
  const counts = new Float64Array(cells).fill(1000);
  const d = dpRound(78, 4, layout);
  for (const r of [5, 9]) {
    const devices = new Rng(200 + r);
    const noise: number[] = [];
    for (let round = 0; round < 40; round++) for (const scale of releasedNoise(d, round, 9, r, devices, 4 + cells, counts).scales) noise.push(1 / scale - 1000);
    assert.is(noise.length, 40 * cells);
    const v = variance(noise);
    assert.ok(Math.abs(v / want - 1) < 0.05, `r = ${r}: count noise variance ${v}, want ${want}`);
  }
});

test("the top-up comes from the coordinator's secret key: another key releases other noise, the same key the same (whatever the run seed)", () => {
  const S = 2000;
  const release = (k: number, runSeed: number) => releasedNoise(dpRound(k, S, null, runSeed), 3, 5, 4, new Rng(9), S, new Float64Array(0)).deltas;
  const a = release(11, 1);
  assert.equal(release(11, 2), a, "the same secret key (another run seed): the same release");
  const b = release(12, 1);
  const same = a.filter((x, j) => x === b[j]).length;
  assert.ok(same < S / 100, `${same} of ${S} values equal under another secret key`);
});

test.run();
