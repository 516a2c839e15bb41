// Quantisation for secure aggregation: the dequantised sum of m ≤ n quantised inputs is within
// m/(2s) of the sum of the clipped inputs (s = ⌊(2^31 − 1)/n⌋ / B), n inputs at the bound never
// wrap, non-finite input and impossible sums are errors; L2 clipping; and the routing-hiding layout
// gives per-expert sums and counts, also through a whole secure-aggregation round.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { GroupLayout } from "../src/federated/aggregate.js";
import { clipL2, dequantiseSum, quantise, quantLevels, quantScale, type QuantSpec } from "../src/federated/secagg/quantise.js";
import { packRouted, routedLength, unpackRouted, type RoutedLayout, type RoutedUpdate } from "../src/federated/secagg/routing.js";
import { plainSum, runRound } from "./secagg-harness.js";

const f32 = Math.fround;
const valueArb = fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true, min: f32(-4), max: f32(4) }), fc.float({ noNaN: true, noDefaultInfinity: true }));

function addAll(vectors: Uint32Array[]): Uint32Array {
  const sum = new Uint32Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + v[i]!;
  return sum;
}

test("dequantised sum of m <= n inputs is within m/(2s) of the clipped sum (huge values included)", () => {
  const arb = fc.record({
    bound: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    n: fc.integer({ min: 1, max: 1000 }),
    len: fc.integer({ min: 0, max: 20 }),
  }).chain(({ bound, n, len }) =>
    fc.record({
      spec: fc.constant<QuantSpec>({ bound, clients: n }),
      xs: fc.array(fc.array(valueArb, { minLength: len, maxLength: len }), { minLength: 1, maxLength: Math.min(n, 12) }),
    }),
  );
  fc.assert(
    fc.property(arb, ({ spec, xs }) => {
      const s = quantScale(spec);
      const got = dequantiseSum(addAll(xs.map((x) => quantise(x, spec))), spec, xs.length);
      const tol = xs.length * (0.5 + 1e-6) / s;
      return Array.from(got).every((g, i) => {
        const want = xs.reduce((acc, x) => acc + Math.min(spec.bound, Math.max(-spec.bound, x[i]!)), 0);
        return Math.abs(g - want) <= tol;
      });
    }),
    { numRuns: 300 },
  );
});

test("n inputs at ±bound fill the range without wrapping; Q = ⌊(2^31 − 1)/n⌋", () => {
  for (const n of [1, 2, 3, 100, 1791]) {
    const spec = { bound: 0.5, clients: n };
    assert.is(quantLevels(spec), Math.floor((2 ** 31 - 1) / n));
    for (const sign of [1, -1]) {
      const q = quantise([sign * 0.5, sign * 1e30], spec);
      const sum = addAll(new Array(n).fill(q));
      const got = dequantiseSum(sum, spec, n);
      assert.ok(Math.abs(got[0]! - sign * 0.5 * n) < 1e-6 * n, `n=${n}: ${got[0]}`);
      assert.is(got[1], got[0]);
    }
  }
});

test("edge cases: empty and length-1 vectors, NaN/Inf named by index, bad specs, impossible sums", () => {
  const spec = { bound: 1, clients: 4 };
  assert.is(quantise([], spec).length, 0);
  assert.is(dequantiseSum(new Uint32Array(0), spec, 2).length, 0);
  assert.equal(Array.from(dequantiseSum(quantise([0.25], spec), spec, 1)), [Math.round(0.25 * quantScale(spec)) / quantScale(spec)]);
  assert.throws(() => quantise([0, 1, NaN], spec), /x\[2\] is NaN/);
  assert.throws(() => quantise([-Infinity], spec), /x\[0\] is -Infinity/);
  assert.throws(() => quantise([1], { bound: 0, clients: 4 }), /bound must be a finite number > 0, got 0/);
  assert.throws(() => quantise([1], { bound: Infinity, clients: 4 }), /bound must be/);
  assert.throws(() => quantise([1], { bound: 1, clients: 0 }), /clients must be an integer/);
  assert.throws(() => dequantiseSum(new Uint32Array(1), spec, 5), /count must be an integer in \[0, 4\]/);
  // one input at the bound cannot sum to twice the bound
  const twice = addAll([quantise([1], spec), quantise([1], spec)]);
  assert.throws(() => dequantiseSum(twice, spec, 1), /element 0 is \d+, outside ±\d+ for 1 inputs/);
});

test("clipL2 scales to the bound (within f32 rounding), keeps direction, leaves short vectors alone", () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 30 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (xs, c) => {
      const x = Float32Array.from(xs);
      const before = clipL2(x, c);
      const after = Math.hypot(...x);
      if (before <= c) return xs.every((v, i) => x[i] === f32(v));
      return after <= c * (1 + 1e-6) && xs.every((v, i) => Math.abs(x[i]! - v * (c / before)) <= 1e-6 * c);
    }),
  );
  assert.throws(() => clipL2(Float32Array.of(1), 0), /maxNorm must be a finite number > 0/);
  assert.throws(() => clipL2(Float32Array.of(NaN), 1), /non-finite norm/);
  assert.is(clipL2(new Float32Array(0), 1), 0);
});

// two blocks of three experts, sizes 2 and 3 with an alignment gap of one element after each
const EXPERTS: GroupLayout = {
  blocks: 2,
  groups: 3,
  start: Int32Array.of(0, 3, 6, 9, 13, 17),
  size: Int32Array.of(2, 2, 2, 3, 3, 3),
};
const LAYOUT: RoutedLayout = { shared: 4, group: 21, experts: EXPERTS };
const SPEC = { bound: 1, clients: 8 };

function update(routes: number[], v: number): RoutedUpdate {
  return {
    shared: Float32Array.of(v, -v, 0.5, 0),
    experts: routes.map((k, l) => new Float32Array(EXPERTS.size[l * 3 + k]!).fill(v * (l + 1) / 4)),
    routes: Int32Array.from(routes),
  };
}

test("routing-hiding layout: per-expert sums over the routed clients and their counts; zero elsewhere", () => {
  const updates = [update([0, 2], 0.1), update([0, 1], 0.2), update([2, 2], 0.4)];
  const packed = updates.map((u) => packRouted(u, LAYOUT, SPEC));
  assert.is(packed[0]!.length, routedLength(LAYOUT));
  const got = unpackRouted(addAll(packed), LAYOUT, SPEC, 3);
  assert.equal(Array.from(got.counts), [2, 0, 1, 0, 1, 2]);
  const tol = 3 / quantScale(SPEC) + 1e-7; // rounding, plus f32 inputs such as 0.1 being 1.5e-9 off
  const near = (a: ArrayLike<number>, b: number[]) => Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol);
  assert.ok(near(got.shared, [0.7, -0.7, 1.5, 0]));
  // expert (0,0): clients 0 and 1 → 0.1/4 + 0.2/4; (0,2): client 2 → 0.4/4; (1,1): client 1 → 0.2/2;
  // (1,2): clients 0 and 2 → 0.1/2 + 0.4/2; gaps and unchosen experts stay 0
  const group = new Array(21).fill(0);
  group.splice(0, 2, 0.075, 0.075);
  group.splice(6, 2, 0.1, 0.1);
  group.splice(13, 3, 0.1, 0.1, 0.1);
  group.splice(17, 3, 0.25, 0.25, 0.25);
  assert.ok(near(got.group, group), Array.from(got.group).join(" "));
});

test("routing-hiding layout: bad routes, sizes and sums are named", () => {
  assert.throws(() => packRouted(update([0, 3], 0.1), LAYOUT, SPEC), /route of block 1 is 3, not in \[0, 3\)/);
  assert.throws(() => packRouted({ ...update([0, 1], 0.1), experts: [new Float32Array(2), new Float32Array(2)] }, LAYOUT, SPEC), /expert of block 1 has 2 values, expert \(1, 1\) 3/);
  assert.throws(() => packRouted({ ...update([0, 1], 0.1), shared: new Float32Array(3) }, LAYOUT, SPEC), /shared has 3 values, the layout 4/);
  assert.throws(() => packRouted({ ...update([0, 1], 0.1), routes: Int32Array.of(0) }, LAYOUT, SPEC), /1 routes and 2 experts for 2 blocks/);
  const one = packRouted(update([0, 1], 0.1), LAYOUT, SPEC);
  assert.throws(() => unpackRouted(one, LAYOUT, SPEC, 2), /block 0 routes 1 clients, not 2/);
  assert.throws(() => unpackRouted(one.subarray(1), LAYOUT, SPEC, 1), /sum has 30 elements, the layout 31/);
});

test("routing-hiding layout through a secure-aggregation round: the server gets sums and counts only", async () => {
  const ids = [5, 6, 7, 9];
  const routes = [[1, 0], [1, 2], [0, 0], [2, 1]];
  const inputs = new Map(ids.map((id, i) => [id, packRouted(update(routes[i]!, 0.05 * (i + 1)), LAYOUT, SPEC)]));
  const { result } = await runRound({ ids, threshold: 3, inputs, dropBeforeMask: [9] });
  assert.equal(Array.from(result.sum), Array.from(plainSum(inputs, [5, 6, 7])));
  assert.equal(Array.from(unpackRouted(result.sum, LAYOUT, SPEC, 3).counts), [1, 2, 0, 2, 0, 1]);
});

test.run();
