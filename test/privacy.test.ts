// The RDP accountant against published figures (Opacus's and Google dp-accounting's tests), its
// monotonicity in every parameter, the calibrated noise never overshooting its target, q = 1
// being the plain Gaussian mechanism, and the log-space helpers at their edges.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { calibrateNoise, RdpAccountant } from "../src/privacy/accountant.js";
import { logAdd, logErfc, logSub } from "../src/privacy/log-math.js";
import { DEFAULT_ORDERS, epsilonFromRdp, epsilonOf, rdpCurve, rdpSubsampledGaussian } from "../src/privacy/rdp.js";

const close = (got: number, want: number, rtol: number, what: string) => assert.ok(Math.abs(got - want) <= rtol * Math.abs(want), `${what}: got ${got}, want ${want} (rtol ${rtol})`);

test("Opacus: σ 1.5, q 0.04, 2,250 steps, δ 1e-5 gives ε 7.32911117143 (to 1e-9 relative), at order 3.9", () => {
  const { epsilon, order } = epsilonOf(0.04, 1.5, 2250, 1e-5);
  close(epsilon, 7.32911117143, 1e-9, "epsilon");
  assert.is(order, 3.9);
  // the same through the accountant, one step at a time (composition adds up)
  const acc = new RdpAccountant();
  for (let i = 0; i < 2250; i += 250) acc.step(0.04, 1.5, 250);
  close(acc.epsilon(1e-5).epsilon, 7.32911117143, 1e-9, "accountant epsilon");
});

const ORDERS = [1.5, 2.5, 5, 50, 100];

test("Google dp-accounting: q 0.01, σ 2.5, 50 steps, RDP at orders 1.5, 2.5, 5, 50, 100 (to 1e-8 relative)", () => {
  // dp-accounting sums a fractional order's series by absolute values (an upper bound); the exact
  // signed sum gives its older figures, which are also Opacus's and tensorflow-privacy's
  const bound = rdpCurve(0.01, 2.5, 50, ORDERS, "bound");
  [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2].forEach((want, i) => close(bound[i]!, want, 1e-8, `order ${ORDERS[i]} (bound)`));
  const exact = rdpCurve(0.01, 2.5, 50, ORDERS, "exact");
  [6.5007e-4, 1.0854e-3, 2.1808e-3, 2.3846e-2, 1.6742e2].forEach((want, i) => close(exact[i]!, want, 1e-4, `order ${ORDERS[i]} (exact)`));
});

test("a fractional order's exact sum equals the defining integral (trapezoid rule), and the bound is above it", () => {
  // A_α = ∫ N(z; 0, σ²)·((1 − q) + q·e^((2z − 1)/(2σ²)))^α dz
  const integral = (q: number, s: number, alpha: number) => {
    const h = 2e-3 * s;
    let sum = 0;
    for (let z = -40 * s; z <= 40 * s + 20; z += h) {
      const mu0 = Math.exp((-z * z) / (2 * s * s)) / (s * Math.sqrt(2 * Math.PI));
      sum += mu0 * ((1 - q) + q * Math.exp((2 * z - 1) / (2 * s * s))) ** alpha * h;
    }
    return Math.log(sum) / (alpha - 1);
  };
  for (const [q, s, alpha] of [[0.01, 2.5, 1.5], [0.1, 1, 3.7], [0.3, 4, 10.5], [0.02, 0.8, 2.2]] as const) {
    const exact = rdpSubsampledGaussian(q, s, alpha, "exact");
    close(exact, integral(q, s, alpha), 1e-6, `q ${q} σ ${s} α ${alpha}`);
    assert.ok(rdpSubsampledGaussian(q, s, alpha, "bound") >= exact * (1 - 1e-12), "the bound is an upper bound");
  }
});

test("q = 1 is the Gaussian mechanism: RDP α/(2σ²) at every order, and ε from it", () => {
  fc.assert(
    fc.property(fc.double({ min: 0.1, max: 50, noNaN: true }), fc.constantFrom(...DEFAULT_ORDERS), (sigma, alpha) => {
      close(rdpSubsampledGaussian(1, sigma, alpha), alpha / (2 * sigma * sigma), 1e-15, "rdp");
    }),
  );
  // (ε, δ) of the composed Gaussian: T steps at σ are one step at σ/√T
  close(epsilonOf(1, 4, 16, 1e-5).epsilon, epsilonOf(1, 1, 1, 1e-5).epsilon, 1e-12, "composition");
  // the subsampled formula tends to it as q → 1 (integer and fractional orders alike)
  for (const alpha of [3, 7.5]) close(rdpSubsampledGaussian(1 - 1e-9, 2, alpha), alpha / 8, 1e-6, `q → 1 at ${alpha}`);
});

const sigmaArb = fc.double({ min: 0.3, max: 20, noNaN: true });
const rateArb = fc.double({ min: 1e-3, max: 1, noNaN: true });
const stepsArb = fc.integer({ min: 1, max: 5000 });
const deltaArb = fc.constantFrom(1e-3, 1e-5, 1e-8);

test("ε grows with the steps and with q, and falls as σ grows (property, 1e-12 relative slack)", () => {
  const le = (a: number, b: number) => a <= b * (1 + 1e-12) + 1e-15;
  fc.assert(
    fc.property(sigmaArb, rateArb, stepsArb, deltaArb, fc.double({ min: 1.01, max: 3, noNaN: true }), (sigma, q, steps, delta, f) => {
      const e = epsilonOf(q, sigma, steps, delta).epsilon;
      assert.ok(Number.isFinite(e) && e >= 0, `ε = ${e}`);
      assert.ok(le(e, epsilonOf(q, sigma, Math.ceil(steps * f), delta).epsilon), "more steps");
      assert.ok(le(e, epsilonOf(Math.min(1, q * f), sigma, steps, delta).epsilon), "larger q");
      assert.ok(le(epsilonOf(q, sigma * f, steps, delta).epsilon, e), "larger σ");
    }),
    { numRuns: 60 },
  );
});

test("the noise calibrated for a target ε never overshoots it and is tight to 1e-3", () => {
  fc.assert(
    // above 0.25: the conversion's floor over orders ≤ 63 is ≈ 0.21 at δ 1e-8, out of any σ's reach
    fc.property(fc.double({ min: 0.25, max: 20, noNaN: true }), rateArb, fc.integer({ min: 1, max: 500 }), deltaArb, (target, q, steps, delta) => {
      const sigma = calibrateNoise(target, delta, q, steps);
      const e = epsilonOf(q, sigma, steps, delta).epsilon;
      assert.ok(e <= target, `ε ${e} > target ${target} at σ ${sigma}`);
      // a slightly smaller σ overshoots (unless the bracket's floor was reached)
      if (sigma > 0.011) assert.ok(epsilonOf(q, sigma / 1.001, steps, delta).epsilon > target * (1 - 1e-3), "not tight");
    }),
    { numRuns: 25 },
  );
});

test("bad parameters are errors naming the parameter", () => {
  const throwsNaming = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof RangeError && re.test(e.message));
  for (const s of [0, -1, NaN, Infinity]) throwsNaming(() => epsilonOf(0.1, s, 10, 1e-5), /noise multiplier/);
  for (const q of [0, -0.1, 1.0001, NaN]) throwsNaming(() => epsilonOf(q, 1, 10, 1e-5), /sample rate/);
  for (const d of [0, 1, -1e-5, NaN]) throwsNaming(() => epsilonOf(0.1, 1, 10, d), /delta/);
  for (const n of [-1, 2.5, NaN]) throwsNaming(() => epsilonOf(0.1, 1, n, 1e-5), /steps/);
  for (const a of [1, 0.5, Infinity]) throwsNaming(() => rdpSubsampledGaussian(0.1, 1, a), /order/);
  throwsNaming(() => calibrateNoise(0, 1e-5, 0.1, 10), /target epsilon/);
  throwsNaming(() => calibrateNoise(1, 1e-5, 0.1, 0), /steps/);
  throwsNaming(() => calibrateNoise(1e-9, 1e-5, 1, 1e6), /out of reach/);
  throwsNaming(() => epsilonFromRdp([2, 3], [1], 1e-5), /orders/);
  throwsNaming(() => epsilonFromRdp([2], [NaN], 1e-5), /RDP at order 2/);
  throwsNaming(() => new RdpAccountant().restore(new Float64Array(3)), /orders/);
});

test("no step spends nothing; huge orders and tiny q stay finite", () => {
  assert.equal(epsilonOf(0.5, 1, 0, 1e-5).epsilon, 0);
  assert.equal(new RdpAccountant().epsilon(1e-5).epsilon, 0);
  // α = 63 at σ = 0.5: the terms reach e^(63²/0.5), far beyond a double, and stay in log space
  const r = rdpSubsampledGaussian(0.5, 0.5, 63);
  assert.ok(Number.isFinite(r) && r > 0, String(r));
  // one step at q 1e-6: near the conversion's floor over the orders (≈ 0.10 at δ 1e-5), which the
  // high orders cannot reach at σ 1 (their RDP grows like α²/2σ² once q^α stops mattering)
  const floor = Math.min(...DEFAULT_ORDERS.map((a) => Math.log1p(-1 / a) - Math.log(1e-5 * a) / (a - 1)));
  const tiny = epsilonOf(1e-6, 1, 1, 1e-5).epsilon;
  assert.ok(tiny >= floor && tiny < 0.3, `ε ${tiny}, floor ${floor}`);
});

test("the accountant's state round-trips and epsilonAfter does not spend", () => {
  const a = new RdpAccountant();
  a.step(0.1, 1.2, 7);
  const peek = a.epsilonAfter(0.1, 1.2, 3, 1e-5).epsilon;
  const b = new RdpAccountant();
  b.restore(a.save());
  assert.is(b.epsilon(1e-5).epsilon, a.epsilon(1e-5).epsilon);
  b.step(0.1, 1.2, 3);
  assert.is(b.epsilon(1e-5).epsilon, peek);
  assert.ok(a.epsilon(1e-5).epsilon < peek);
});

test("logErfc: relative accuracy 1e-13 against erfc values, −x² asymptotics far out, edges", () => {
  // erfc values (Abramowitz & Stegun / mpmath)
  const table: [number, number][] = [
    [-3, 1.9999779095030014],
    [-0.5, 1.5204998778130465],
    [0, 1],
    [0.3, 0.6713732405408726],
    [1, 0.15729920705028513],
    [1.999, 0.004698443348629488],
    [2, 0.004677734981047266],
    [3, 2.209049699858544e-5],
    [10, 2.088487583762545e-45],
  ];
  for (const [x, v] of table) close(logErfc(x), Math.log(v), 1e-13, `logErfc(${x})`);
  // far out: log erfc(x) = −x² − log(x√π) − 1/(2x²) + 5/(8x⁴) − 37/(24x⁶) + O(x⁻⁸)
  const tail = (x: number) => -x * x - Math.log(x * Math.sqrt(Math.PI)) - 1 / (2 * x * x) + 5 / (8 * x ** 4) - 37 / (24 * x ** 6);
  for (const x of [30, 1e3]) close(logErfc(x), tail(x), 1e-13, `logErfc(${x})`);
  assert.is(logErfc(Infinity), -Infinity);
  assert.is(logErfc(-Infinity), Math.LN2);
  assert.ok(Number.isNaN(logErfc(NaN)));
});

test("logAdd and logSub: exact at −∞, no overflow for huge logs, inverse of each other (property)", () => {
  assert.is(logAdd(-Infinity, 3), 3);
  assert.is(logAdd(-Infinity, -Infinity), -Infinity);
  assert.is(logSub(5, -Infinity), 5);
  assert.is(logSub(5, 5), -Infinity);
  assert.throws(() => logSub(1, 2), /negative/);
  close(logAdd(1000, 1000), 1000 + Math.LN2, 1e-15, "logAdd(1000, 1000)");
  fc.assert(
    fc.property(fc.double({ min: -700, max: 700, noNaN: true }), fc.double({ min: -700, max: 700, noNaN: true }), (x, y) => {
      const s = logAdd(x, y);
      assert.ok(s >= Math.max(x, y));
      // log(eˢ − eʸ) = x, to the precision the larger term allows
      if (Math.abs(x - y) < 30) assert.ok(Math.abs(logSub(s, y) - x) <= 1e-12 * Math.max(1, Math.abs(x)) + 1e-10 * Math.exp(Math.max(0, y - x)), `${x}, ${y}`);
    }),
  );
});

test.run();
