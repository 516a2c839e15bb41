// Touched averaging (src/federated/touched-average.ts): each shared value is averaged over the
// participants whose training changed it; values everybody changed average as under FedAvg,
// values nobody changed stay put; the counters fold across chunks like the sums do.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { constantInit } from "../src/autograd/init.js";
import { ParamStore, type ParamSpec } from "../src/autograd/params.js";
import { Aggregator, ChunkSums } from "../src/federated/aggregate.js";
import { SERVER_DEFAULTS, ServerOptimizer } from "../src/federated/server-opt.js";
import { addTouched, stretchToTouched } from "../src/federated/touched-average.js";
import { Rng } from "../src/util/rng.js";
import { wasmBackends } from "./helpers.js";

test("addTouched adds w exactly where the trained value differs from the global one", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.float({ noNaN: true }), fc.boolean()), { minLength: 0, maxLength: 40 }), fc.double({ min: 0.5, max: 1e6, noNaN: true }), (cells, w) => {
      const n = cells.length;
      const f = new Float32Array(2 * n + 3);
      cells.forEach(([g, changed], j) => {
        f[3 + n + j] = g;
        f[3 + j] = changed ? (Math.fround(g) === 1 ? 2 : 1) : g;
      });
      const touched = new Float64Array(n).fill(0.25);
      addTouched(f, 3, 3 + n, n, w, touched);
      cells.forEach(([, changed], j) => assert.is(touched[j], changed ? 0.25 + w : 0.25, `value ${j}`));
    }),
    { numRuns: 100, seed: 5 },
  );
  assert.throws(() => addTouched(new Float32Array(8), 0, 4, 4, 1, new Float64Array(3)), /3 counters for 4 values/);
});

test("stretchToTouched: the mean change over the changers; all changed = FedAvg; none changed = kept (rel. 1e-12)", () => {
  const client = fc.record({ w: fc.integer({ min: 1, max: 50 }), deltas: fc.array(fc.option(fc.double({ min: -100, max: 100, noNaN: true }), { nil: null }), { minLength: 6, maxLength: 6 }) });
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 6, maxLength: 6 }), fc.array(client, { minLength: 1, maxLength: 8 }), (gs, clients) => {
      const global = Float32Array.from(gs);
      const n = global.length;
      const W = clients.reduce((s, c) => s + c.w, 0);
      const total = new Float64Array(n);
      const touched = new Float64Array(n);
      for (const c of clients) {
        c.deltas.forEach((d, j) => {
          const v = global[j]! + (d ?? 0);
          total[j] += c.w * v;
          if (d !== null && d !== 0) touched[j] += c.w;
        });
      }
      const fedAvg = Float64Array.from(total, (t) => t / W);
      stretchToTouched(global, total, W, touched);
      for (let j = 0; j < n; j++) {
        const changers = clients.filter((c) => c.deltas[j] !== null && c.deltas[j] !== 0);
        const T = changers.reduce((s, c) => s + c.w, 0);
        const want = T === 0 ? global[j]! : global[j]! + changers.reduce((s, c) => s + c.w * c.deltas[j]!, 0) / T;
        const got = total[j]! / W;
        const scale = Math.max(1, Math.abs(want), ...clients.map((c) => Math.abs(c.deltas[j] ?? 0)));
        assert.ok(Math.abs(got - want) <= 1e-9 * scale, `value ${j}: ${got} vs ${want}`);
        if (T === W) assert.ok(Math.abs(got - fedAvg[j]!) <= 1e-9 * scale, `value ${j}: every client changed it, FedAvg ${fedAvg[j]}`);
      }
    }),
    { numRuns: 200, seed: 8 },
  );
  // no participant: nothing to do
  const total = Float64Array.of(3);
  stretchToTouched(Float32Array.of(1), total, 0, Float64Array.of(0));
  assert.equal(Array.from(total), [3]);
  assert.throws(() => stretchToTouched(new Float32Array(2), new Float64Array(2), 1, new Float64Array(3)), /3 counters for 2 sums/);
});

test("through ChunkSums and Aggregator: a row one client of three changed takes that client's value; dense values their mean", async () => {
  const [be] = await wasmBackends();
  const specs: ParamSpec[] = [
    { name: "rows", partition: "shared", shape: [3, 2], init: constantInit(0) },
    { name: "user", partition: "private", shape: [1], init: constantInit(0) },
  ];
  const store = new ParamStore(be!, specs, new Rng(1));
  const S = store.buffer("shared").size;
  const start = Float32Array.from({ length: S }, (_, j) => j + 1);
  const globalAt = be!.alloc(S);
  be!.f.set(start, globalAt);
  // clients 0 and 1 move their own row c (values 2c, 2c + 1) by 10·(c + 1), every client c moves
  // row 2 by c: rows 0 and 1 are one client's each, row 2 is changed by clients 1 and 2 (client 0
  // adds 0), the alignment gap after it by nobody
  const trained = (c: number) => Float32Array.from(start, (g, j) => (j >> 1 === c && c < 2 ? g + 10 * (c + 1) : j >> 1 === 2 ? g + c : g));
  const sums = new ChunkSums(store, null);
  const results = [0, 1].map((chunk) => {
    sums.clear();
    for (const c of chunk === 0 ? [0, 1] : [2]) {
      be!.f.set(trained(c), store.buffer("shared").values);
      sums.add(1, [], 0, 1, 0, false, globalAt);
    }
    return sums.result(chunk);
  });
  const agg = new Aggregator(S, 0, null);
  for (const r of results) agg.add(r);
  const global = Float32Array.from(start);
  agg.finish(global, 2, new ServerOptimizer(S, SERVER_DEFAULTS));
  // row 0: client 0's +10; row 1: client 1's +20; row 2: the changers' mean +(1 + 2)/2
  const want = Float32Array.from(start, (g, j) => (j < 2 ? g + 10 : j < 4 ? g + 20 : j < 6 ? g + 1.5 : g));
  assert.equal(Array.from(global), Array.from(want));
  // a plain FedAvg round of the same clients: rows 0 and 1 move by a third of that
  sums.clear();
  for (const c of [0, 1, 2]) {
    be!.f.set(trained(c), store.buffer("shared").values);
    sums.add(1, [], 0, 1, 0);
  }
  const plain = new Aggregator(S, 0, null);
  plain.add(sums.result(0));
  const avg = Float32Array.from(start);
  plain.finish(avg, 1, new ServerOptimizer(S, SERVER_DEFAULTS));
  assert.ok(Math.abs(avg[0]! - (start[0]! + 10 / 3)) < 1e-5, `FedAvg row 0: ${avg[0]}`);
  sums.dispose();
  be!.free(globalAt);
});

test.run();
