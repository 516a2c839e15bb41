// FoolsGold (foolsgold.ts) and the foolsgold rule of aggregateRows: the Gram matrix against an f64
// reference (relative tolerance 1e-5: f32 GEMM over rows scaled to max |value| = 1), sybils —
// identical rows — get trust 0 while distinct honest rows keep theirs, permuting the clients
// permutes the trust (tolerance 1e-4: the GEMM's tiling may round a dot product differently at
// another position, ~1e-7, and the logit's slope reaches 1/(0.99 · 0.01) ≈ 101), and zero, single
// or huge rows give no NaN.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { foolsGoldTrust, gramOfRows } from "../src/federated/robust/foolsgold.js";
import { aggregateRows } from "../src/federated/robust/aggregate-rows.js";
import { Rng } from "../src/util/rng.js";

const RUNS = 50;
const be = await loadWasmBackend();

/** n rows of d N(0, 1) values from a seed: distinct directions (cosines near 0 for large d). */
function gaussianRows(n: number, d: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal()));
}

test("gramOfRows matches an f64 reference of the max-scaled rows", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 300 }), fc.nat(), (n, d, seed) => {
      const rows = gaussianRows(n, d, seed);
      const g = gramOfRows(be, rows);
      const scaled = rows.map((r) => {
        const m = Math.max(...Array.from(r, Math.abs));
        return Array.from(r, (x) => x / m);
      });
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          let scale = 0;
          for (let k = 0; k < d; k++) {
            want += scaled[i]![k]! * scaled[j]![k]!;
            scale += Math.abs(scaled[i]![k]! * scaled[j]![k]!);
          }
          assert.ok(Math.abs(g[i * n + j]! - want) <= 1e-5 * scale + 1e-12, `G[${i}][${j}] = ${g[i * n + j]}, expected ${want}`);
        }
      }
    }),
    { numRuns: RUNS, seed: 1 },
  );
});

test("identical sybil rows get trust 0 while distinct honest rows keep trust ≥ 0.5", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 2, max: 8 }), fc.nat(), (honest, sybils, seed) => {
      const rows = gaussianRows(honest + 1, 400, seed);
      const fake = rows.pop()!;
      for (let s = 0; s < sybils; s++) rows.splice((seed + s * 7) % (rows.length + 1), 0, fake);
      const trust = foolsGoldTrust(be, rows);
      rows.forEach((r, i) => {
        if (r === fake) assert.is(trust[i], 0, `sybil at ${i} has trust ${trust[i]}`);
        else assert.ok(trust[i]! >= 0.5, `honest row ${i} has trust ${trust[i]}`);
      });
    }),
    { numRuns: RUNS, seed: 2 },
  );
});

test("permuting the clients permutes the trust (within 1e-4)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 50 }), fc.nat(), fc.nat(), (n, d, seed, pseed) => {
      // a few shared directions so the trust is not all 1
      const base = gaussianRows(3, d, seed);
      const rng = new Rng(seed + 1);
      const rows = Array.from({ length: n }, (_, i) => Float32Array.from(base[i % 3]!, (x) => x + 0.3 * rng.normal()));
      const perm = Array.from({ length: n }, (_, i) => i).sort((a, b) => (((a * 2654435761) ^ pseed) >>> 0) - (((b * 2654435761) ^ pseed) >>> 0));
      const a = foolsGoldTrust(be, rows);
      const b = foolsGoldTrust(be, perm.map((i) => rows[i]!));
      perm.forEach((i, k) => assert.ok(Math.abs(b[k]! - a[i]!) <= 1e-4, `client ${i}: ${a[i]} vs ${b[k]} permuted`));
    }),
    { numRuns: RUNS, seed: 3 },
  );
});

test("zero, single, all-equal and huge rows: trust in [0, 1], never NaN", () => {
  const zeros = [new Float32Array(5), new Float32Array(5), Float32Array.of(1, 0, 0, 0, 0)];
  for (const t of foolsGoldTrust(be, zeros)) assert.ok(t >= 0 && t <= 1, `trust ${t}`);
  assert.equal(Array.from(foolsGoldTrust(be, [Float32Array.of(3, 4)])), [1]);
  assert.equal(Array.from(foolsGoldTrust(be, [new Float32Array(4)])), [1]);
  assert.equal(Array.from(foolsGoldTrust(be, [Float32Array.of(1, 2), Float32Array.of(2, 4)])), [0, 0]);
  assert.equal(foolsGoldTrust(be, []).length, 0);
  const huge = [Float32Array.of(3e38, -3e38, 1), Float32Array.of(-3e38, 1e-38, 3e38), Float32Array.of(1e-30, 2e-30, 0)];
  for (const t of foolsGoldTrust(be, huge)) assert.ok(t >= 0 && t <= 1, `trust ${t}`);
  for (const t of foolsGoldTrust(be, [Float32Array.of(1, 0), Float32Array.of(-1, 0), Float32Array.of(0, 1)])) assert.ok(t >= 0 && t <= 1, `trust ${t}`);
});

test("aggregateRows foolsgold: trusted clients' norm-bounded weighted mean; no trust at all leaves zeros", () => {
  const rows = [Float32Array.of(1, 0), Float32Array.of(0, 4), Float32Array.of(9, 9)];
  const input = { rows, clients: [7, 8, 9], weights: [1, 1, 1] };
  const out = new Float64Array(2);
  // median norm 4: row 2 (norm 12.7) is scaled to 4 and carries no trust anyway
  const s = aggregateRows({ kind: "foolsgold", trim: 0.1, bound: "median", agree: 0.1 }, { ...input, trust: [1, 0.5, 0] }, out);
  assert.is(s.bound, 4);
  assert.equal(Array.from(out), [1 / 1.5, 2 / 1.5]);
  aggregateRows({ kind: "foolsgold", trim: 0.1, bound: "median", agree: 0.1 }, { ...input, trust: [0, 0, 0] }, out);
  assert.equal(Array.from(out), [0, 0]);
  assert.throws(() => aggregateRows({ kind: "foolsgold", trim: 0.1, bound: "median", agree: 0.1 }, input, out), /foolsgold needs each client's trust/);
  assert.throws(() => aggregateRows({ kind: "foolsgold", trim: 0.1, bound: "median", agree: 0.1 }, { ...input, trust: [1, NaN, 1] }, out), /client 8 has trust NaN/);
});

test.run();
