// The network coordinator's aggregation (Aggregator.addDelta): clients' deltas summed in the given
// order in f64, shared over everybody, expert (l, k) over the clients routed to it, nobody's expert
// unchanged; bad input refused before anything changes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Aggregator, type ClientDelta, type GroupLayout } from "../src/federated/aggregate.js";
import { SERVER_DEFAULTS, ServerOptimizer } from "../src/federated/server-opt.js";

/** Experts of uneven sizes with alignment gaps between them, as a ParamStore lays them out. */
function layoutOf(blocks: number, groups: number, sizeOf: (cell: number) => number): { layout: GroupLayout; groupSize: number } {
  const start = new Int32Array(blocks * groups);
  const size = new Int32Array(blocks * groups);
  let at = 0;
  for (let cell = 0; cell < blocks * groups; cell++) {
    start[cell] = at;
    size[cell] = sizeOf(cell);
    at += Math.ceil(size[cell]! / 4) * 4;
  }
  return { layout: { blocks, groups, start, size }, groupSize: at };
}

const f32 = Math.fround;

test("addDelta + finish (avg): mean of global + delta, shared over all, experts over their routed clients, others unchanged", () => {
  const values = fc.oneof(fc.double({ min: -2, max: 2, noNaN: true }).map(f32), fc.constant(0), fc.double({ min: -1e30, max: 1e30, noNaN: true }).map(f32));
  const setup = fc.record({
    blocks: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 4 }),
    shared: fc.integer({ min: 0, max: 9 }),
    clients: fc.integer({ min: 1, max: 6 }),
    weighted: fc.boolean(),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(setup, fc.infiniteStream(values), fc.infiniteStream(fc.nat()), (s, vals, picks) => {
      const next = () => vals.next().value as number;
      const pick = (n: number) => (picks.next().value as number) % n;
      const { layout, groupSize } = layoutOf(s.blocks, s.groups, () => 1 + pick(6));
      const S = s.shared;
      const global = Float32Array.from({ length: S + groupSize }, next);
      const before = global.slice();
      const deltas: ClientDelta[] = Array.from({ length: s.clients }, () => {
        const routes = Int32Array.from({ length: s.blocks }, () => pick(s.groups));
        return {
          weight: s.weighted ? 1 + pick(10) : 1,
          shared: Float32Array.from({ length: S }, next),
          experts: Array.from(routes, (k, l) => Float32Array.from({ length: layout.size[l * s.groups + k]! }, next)),
          routes,
          loss: 0.5,
          samples: 3,
        };
      });
      const agg = new Aggregator(S, groupSize, layout);
      for (const d of deltas) agg.addDelta(d);
      const totals = agg.finish(global, 0, new ServerOptimizer(S + groupSize, SERVER_DEFAULTS));
      // reference: the weighted mean of the clients' trained values global + δ, in f64
      // tolerance: f32 rounding of the result plus the f64 cancellation error of Σw·(g + δ), scaled
      // by the largest term (values reach 1e30, so the absolute error can exceed 1e-6 of a small mean)
      const close = (got: number, want: number, scale: number, what: string) => {
        if (!(Math.abs(got - want) <= 1e-6 * Math.abs(want) + 1e-12 * scale)) throw new Error(`${what}: ${got} vs ${want}`);
      };
      const W = deltas.reduce((a, d) => a + d.weight, 0);
      for (let j = 0; j < S; j++) {
        const want = deltas.reduce((a, d) => a + d.weight * (before[j]! + d.shared[j]!), 0) / W;
        const scale = deltas.reduce((a, d) => Math.max(a, Math.abs(before[j]!), Math.abs(d.shared[j]!)), 0);
        close(global[j]!, f32(want), scale, `shared[${j}]`);
      }
      for (let l = 0; l < s.blocks; l++) {
        for (let k = 0; k < s.groups; k++) {
          const cell = l * s.groups + k;
          const routed = deltas.filter((d) => d.routes[l] === k);
          const w = routed.reduce((a, d) => a + d.weight, 0);
          for (let j = 0; j < layout.size[cell]!; j++) {
            const at = S + layout.start[cell]!;
            const want = routed.length === 0 ? before[at + j]! : routed.reduce((a, d) => a + d.weight * (before[at + j]! + d.experts[l]![j]!), 0) / w;
            const scale = routed.reduce((a, d) => Math.max(a, Math.abs(before[at + j]!), Math.abs(d.experts[l]![j]!)), 0);
            if (routed.length === 0) assert.is(global[at + j], want, "an expert nobody chose keeps its value");
            else close(global[at + j]!, f32(want), scale, `expert (${l}, ${k})[${j}]`);
          }
          assert.is(totals.groupShare[cell], routed.length / s.clients);
        }
      }
      assert.is(totals.clients, s.clients);
      assert.is(totals.samples, 3 * s.clients);
    }),
    { numRuns: 150 },
  );
});

test("addDelta: the order of the calls is the order of the f64 sums (client-id order makes it reproducible)", () => {
  const { layout, groupSize } = layoutOf(1, 1, () => 1);
  const one = (x: number): ClientDelta => ({ weight: 1, shared: Float32Array.of(x), experts: [Float32Array.of(0)], routes: [0], loss: 0, samples: 0 });
  // 1e8 + 1 − 1e8 loses the 1 in f32 but not in f64: the f64 sums keep it whatever the order
  const run = (xs: number[]) => {
    const agg = new Aggregator(1, groupSize, layout);
    const g = new Float32Array(1 + groupSize);
    for (const x of xs) agg.addDelta(one(x));
    agg.finish(g, 0, new ServerOptimizer(1 + groupSize, SERVER_DEFAULTS));
    return g[0]!;
  };
  assert.is(run([1e8, 1, -1e8]), f32(1 / 3));
  // and a sum that does depend on the order in f64 gives the same bits for the same order
  const xs = [f32(0.1), f32(1e20), f32(-1e20), f32(0.3)];
  assert.is(run(xs), run([...xs]));
  assert.is.not(run(xs), run([xs[1]!, xs[2]!, xs[0]!, xs[3]!]));
});

test("addDelta refuses a wrong length, a route out of range, a bad weight, and a mix with chunk sums, changing nothing", () => {
  const { layout, groupSize } = layoutOf(2, 2, (c) => 2 + c);
  const ok = (): ClientDelta => ({ weight: 1, shared: new Float32Array(3).fill(1), experts: [new Float32Array(2).fill(1), new Float32Array(5).fill(1)], routes: [0, 1], loss: 1, samples: 1 });
  const agg = new Aggregator(3, groupSize, layout);
  const bad: [string, ClientDelta][] = [
    ["shared length", { ...ok(), shared: new Float32Array(4) }],
    ["expert length", { ...ok(), experts: [new Float32Array(3), new Float32Array(5)] }],
    ["route", { ...ok(), routes: [2, 1] }],
    ["route not integer", { ...ok(), routes: [0.5, 1] }],
    ["missing block", { ...ok(), experts: [new Float32Array(2)], routes: [0] }],
    ["weight", { ...ok(), weight: NaN }],
    ["negative weight", { ...ok(), weight: -1 }],
  ];
  for (const [what, d] of bad) assert.throws(() => agg.addDelta(d), RangeError, what);
  const g = new Float32Array(3 + groupSize);
  const totals = agg.finish(g, 0, new ServerOptimizer(3 + groupSize, SERVER_DEFAULTS));
  assert.is(totals.clients, 0, "nothing was folded in");
  assert.equal([...g], new Array(3 + groupSize).fill(0));
  agg.addDelta(ok());
  const chunk = { chunk: 0, sums: new Float32Array(3 + groupSize), groupWeight: new Float64Array(4), routeCount: new Int32Array(4), weight: 1, clients: 1, loss: 0, samples: 0, bytesUp: 0 };
  assert.throws(() => agg.add(chunk), /deltas/);
});

test.run();
