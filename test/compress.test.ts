// Properties of update compression on every backend, stated without reference to the reference
// implementation: the int8 round trip stays within its error bound, top-k keeps exactly the k
// largest magnitudes (ties to the lower index), error feedback loses nothing over many rounds,
// and the degenerate sizes (k = 0, k ≥ n, n = 0) and NaN inputs behave as kernels.ts documents.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { Backend } from "../src/kernels/backend.js";
import { readF, readI, readI8, upload } from "../src/kernels/backend.js";
import { int8Elements, int8ScaleCount } from "../src/kernels/kernels.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { wasmBackends } from "./helpers.js";

async function backends(): Promise<Backend[]> {
  return [new RefBackend("f32"), ...(await wasmBackends())];
}

const f32 = Math.fround;
const SMALLEST_NORMAL = 2 ** -126;

// ---- int8 ---------------------------------------------------------------------------------------

function roundTrip(be: Backend, x: number[], block: number): { q: Int8Array; scales: Float64Array; back: Float64Array } {
  const n = x.length;
  const xo = upload(be, x);
  const q = be.alloc(int8Elements(n));
  const scales = be.alloc(int8ScaleCount(n, block));
  const out = be.alloc(n);
  be.quantizeInt8(xo, n, block, q, scales);
  be.dequantizeInt8(q, scales, n, block, out);
  const r = { q: readI8(be, q, n), scales: readF(be, scales, int8ScaleCount(n, block)), back: readF(be, out, n) };
  for (const off of [xo, q, scales, out]) be.free(off);
  return r;
}

test("int8: dequantise(quantise(x)) is within scale/2 of x, scale = max|x|/127 per block", async () => {
  const bes = await backends();
  // |x| ≤ 1e38: within 2⁻²³ of the largest float, 127·scale can round up to ±Inf
  const values = fc.oneof(fc.float({ min: f32(-1e38), max: f32(1e38), noNaN: true }), fc.constant(0), fc.double({ min: -1, max: 1 }).map(f32));
  fc.assert(
    fc.property(fc.array(values, { maxLength: 300 }), fc.integer({ min: 1, max: 70 }), (x, block) => {
      const xs = x.map(f32);
      for (const be of bes) {
        const { q, scales, back } = roundTrip(be, xs, block);
        for (let b = 0; b < scales.length; b++) {
          const part = xs.slice(b * block, (b + 1) * block);
          const amax = Math.max(...part.map(Math.abs));
          const scale = scales[b]!;
          assert.is(scale, f32(amax / 127), `${be.name}: scale of block ${b}`);
          for (let j = b * block; j < Math.min((b + 1) * block, xs.length); j++) {
            assert.ok(Math.abs(q[j]!) <= 127, `${be.name}: q[${j}] = ${q[j]}`);
            if (scale === 0) assert.is(q[j], 0, `${be.name}: a block with scale 0 sends zeros`);
            const err = Math.abs(xs[j]! - back[j]!);
            // scale/2 is exact arithmetic; storing q·scale as f32 adds at most 2⁻²⁴ of it. A
            // subnormal scale has too few bits for the bound (kernels.ts): error ≤ max|x| there.
            const bound = scale >= SMALLEST_NORMAL ? scale / 2 + 2 ** -24 * Math.abs(back[j]!) : amax;
            assert.ok(err <= bound, `${be.name}: x[${j}] = ${xs[j]} came back as ${back[j]} (scale ${scale})`);
          }
        }
      }
    }),
    { numRuns: 200, seed: 11 },
  );
});

test("int8: exact halves round away from zero", async () => {
  // a leading 127 makes the scale exactly 1, so q = x rounded
  const x = [127, 2.5, -2.5, 0.5, -0.5, 126.5, -126.5, 0.49999997];
  for (const be of await backends()) {
    const { q } = roundTrip(be, x, x.length);
    assert.equal(Array.from(q), [127, 3, -3, 1, -1, 127, -127, 0], be.name);
  }
});

test("int8: a block whose scale is subnormal clamps q to ±127", async () => {
  // max|x| = 178 steps of 2⁻¹⁴⁹: the scale 1.4 steps rounds to 1 step, so x/scale reaches −178
  const tiny = 2 ** -149;
  const x = [-178 * tiny, 100 * tiny, 3 * tiny, -1 * tiny, 0];
  for (const be of await backends()) {
    const { q, scales } = roundTrip(be, x, x.length);
    assert.is(scales[0], tiny, be.name);
    assert.equal(Array.from(q), [-127, 100, 3, -1, 0], be.name);
  }
});

// ---- top-k --------------------------------------------------------------------------------------

interface TopK {
  count: number;
  idx: number[];
  val: number[];
  residual: number[];
}

function topk(be: Backend, x: number[], residual: number[], k: number): TopK {
  const n = x.length;
  const xo = upload(be, x);
  const ro = upload(be, residual);
  const cap = Math.max(Math.min(k, n), 0);
  const io = be.alloc(cap + 1);
  const vo = be.alloc(cap + 1);
  // a sentinel one past the end: the kernel must not write more than `count` entries
  be.i[io + cap] = -7;
  const count = be.topkSelect(xo, ro, n, k, io, vo);
  const r = { count, idx: Array.from(readI(be, io, count)), val: Array.from(readF(be, vo, count)), residual: Array.from(readF(be, ro, n)) };
  assert.is(be.i[io + cap], -7, `${be.name}: wrote past the ${cap} output slots`);
  for (const off of [xo, ro, io, vo]) be.free(off);
  return r;
}

/** Checks the contract's definition of the selection against u = x + residual (as f32). */
function checkSelection(name: string, u: number[], k: number, r: TopK): void {
  const n = u.length;
  assert.is(r.count, Math.max(Math.min(k, n), 0), `${name}: count`);
  const kept = new Set(r.idx);
  for (let c = 0; c < r.count; c++) {
    if (c > 0) assert.ok(r.idx[c]! > r.idx[c - 1]!, `${name}: indices ascending`);
    assert.ok(r.idx[c]! >= 0 && r.idx[c]! < n, `${name}: index in range`);
    assert.is(r.val[c], u[r.idx[c]!], `${name}: value of ${r.idx[c]}`);
  }
  for (let i = 0; i < n; i++) assert.is(r.residual[i], kept.has(i) ? 0 : u[i], `${name}: residual[${i}]`);
  // every kept magnitude ≥ every dropped one; among equals, kept indices come first
  for (const i of r.idx) {
    for (let j = 0; j < n; j++) {
      if (kept.has(j)) continue;
      const a = Math.abs(u[i]!);
      const b = Math.abs(u[j]!);
      assert.ok(a > b || (a === b && i < j), `${name}: dropped u[${j}] = ${u[j]} over kept u[${i}] = ${u[i]}`);
    }
  }
  // and the kept magnitudes are the top of a sort of all magnitudes
  const top = u.map(Math.abs).sort((a, b) => b - a).slice(0, r.count);
  assert.equal(r.idx.map((i) => Math.abs(u[i]!)).sort((a, b) => b - a), top, `${name}: kept magnitudes`);
}

test("top-k: keeps exactly the k largest |x + residual|, ties to the lower index", async () => {
  const bes = await backends();
  // a small value set makes ties (and zeros) common; arbitrary floats cover the full range
  const tied = fc.constantFrom(0, 0.5, -0.5, 1, -1, 2, -2);
  const values = fc.oneof(tied, fc.float({ min: f32(-1e30), max: f32(1e30), noNaN: true }));
  const arrays = fc.integer({ min: 0, max: 120 }).chain((n) => fc.tuple(fc.array(values, { minLength: n, maxLength: n }), fc.array(values, { minLength: n, maxLength: n })));
  fc.assert(
    fc.property(arrays, fc.integer({ min: -2, max: 130 }), ([x, res], k) => {
      const xs = x.map(f32);
      const rs = res.map(f32);
      const u = xs.map((v, i) => f32(v + rs[i]!));
      for (const be of bes) checkSelection(be.name, u, k, topk(be, xs, rs, k));
    }),
    { numRuns: 200, seed: 12 },
  );
});

test("top-k: k = 0 sends nothing and k ≥ n sends everything; n = 0 is a no-op", async () => {
  const x = [3, -1, 0, 2.5, -7];
  const res = [1, 1, 1, 1, 1];
  const u = [4, 0, 1, 3.5, -6];
  for (const be of await backends()) {
    const none = topk(be, x, res, 0);
    assert.is(none.count, 0, be.name);
    assert.equal(none.residual, u, `${be.name}: k = 0 keeps everything in the residual`);
    for (const k of [5, 6, 1000]) {
      const all = topk(be, x, res, k);
      assert.equal(all.idx, [0, 1, 2, 3, 4], `${be.name}: k = ${k}`);
      assert.equal(all.val, u, `${be.name}: k = ${k}`);
      assert.equal(all.residual, [0, 0, 0, 0, 0], `${be.name}: k = ${k}`);
    }
    assert.is(topk(be, [], [], 4).count, 0, `${be.name}: n = 0`);
  }
});

test("top-k error feedback: over many rounds, what was sent plus the residual is what came in", async () => {
  // Integer inputs keep every sum exact in f32 (|sums| < 2²⁴), so "nothing is lost" can be
  // checked with equality rather than a tolerance.
  const n = 37;
  const rounds = 60;
  for (const be of await backends()) {
    for (const k of [1, 4, 10]) {
      let state = 12345 + k;
      const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) % 2001) - 1000;
      const input = new Array<number>(n).fill(0);
      const sent = new Array<number>(n).fill(0);
      let residual = new Array<number>(n).fill(0);
      for (let t = 0; t < rounds; t++) {
        const x = Array.from({ length: n }, rand);
        x.forEach((v, i) => (input[i] += v));
        const r = topk(be, x, residual, k);
        r.idx.forEach((i, c) => (sent[i] += r.val[c]!));
        residual = r.residual;
      }
      for (let i = 0; i < n; i++) assert.is(sent[i]! + residual[i]!, input[i], `${be.name} k = ${k}: coordinate ${i}`);
    }
  }
});

test("top-k error feedback: a coordinate too small to be sent accumulates until it is", async () => {
  // k = 1; coordinates 1..3 receive 10 per round and take turns being sent; coordinate 0
  // receives 1 per round and is sent, with everything it gathered, once it outgrows them.
  const x = [1, 10, 10, 10];
  for (const be of await backends()) {
    let residual = [0, 0, 0, 0];
    let sentAt = -1;
    for (let t = 1; t <= 100 && sentAt < 0; t++) {
      const r = topk(be, x, residual, 1);
      if (r.idx[0] === 0) {
        sentAt = t;
        assert.is(r.val[0], t, `${be.name}: coordinate 0 sends all ${t} rounds of its input`);
        assert.is(r.residual[0], 0, be.name);
      } else assert.is(r.residual[0], t, `${be.name}: coordinate 0 holds ${t} rounds of input`);
      residual = r.residual;
    }
    assert.ok(sentAt > 1, `${be.name}: coordinate 0 was eventually sent (round ${sentAt})`);
  }
});

test("top-k with NaN (unsupported input, see kernels.ts): NaN ranks first, the count stays min(k, n)", async () => {
  const x = [1, NaN, -3, 2, NaN, 0.5, 4];
  const zero = new Array<number>(x.length).fill(0);
  for (const be of await backends()) {
    const r = topk(be, x, zero, 3);
    assert.is(r.count, 3, be.name);
    assert.equal(r.idx, [1, 4, 6], be.name);
    assert.ok(Number.isNaN(r.val[0]!) && Number.isNaN(r.val[1]!) && r.val[2] === 4, be.name);
  }
});

test.run();
