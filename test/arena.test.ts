// The per-step arena: aligned, disjoint bump allocations; reset() reuses the same chunks, so a
// repeated allocation sequence reaches the backend only during the first step.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Arena } from "../src/kernels/arena.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { wasmBackends } from "./helpers.js";

/** Runs one "step": allocates the sizes in order; returns the offsets. */
function step(a: Arena, sizes: readonly number[]): number[] {
  return sizes.map((n) => a.alloc(n));
}

function assertDisjointAligned(offsets: number[], sizes: readonly number[]): void {
  const spans = offsets.map((o, k) => [o, o + Math.max(1, sizes[k]!)] as const).sort((x, y) => x[0] - y[0]);
  for (const [o] of spans) assert.is(o % 4, 0, `offset ${o} is not 16-byte aligned`);
  for (let k = 1; k < spans.length; k++) assert.ok(spans[k]![0] >= spans[k - 1]![1], `allocations overlap: ${JSON.stringify(spans)}`);
}

test("allocations are aligned, disjoint, and a repeated step reuses the same offsets", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }), fc.integer({ min: 1, max: 256 }), (sizes, chunk) => {
      const be = new RefBackend("f32");
      const a = new Arena(be, chunk);
      const first = step(a, sizes);
      assertDisjointAligned(first, sizes);
      const allocs = a.backendAllocs;
      for (let s = 0; s < 3; s++) {
        a.reset();
        assert.equal(step(a, sizes), first);
      }
      assert.is(a.backendAllocs, allocs);
    }),
    { numRuns: 100, seed: 1 },
  );
});

test("after a step, any step whose requests are no larger (one by one) allocates nothing", () => {
  // the model's steps differ only in how many positions are scored, so this is what keeps them
  // allocation-free once the largest step has run
  const sizesArb = fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 30 });
  fc.assert(
    fc.property(sizesArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 30, maxLength: 30 }), fc.integer({ min: 1, max: 256 }), (big, shrink, chunk) => {
      const a = new Arena(new RefBackend("f32"), chunk);
      step(a, big);
      const allocs = a.backendAllocs;
      a.reset();
      const small = big.map((n, k) => Math.floor(n * shrink[k]!));
      assertDisjointAligned(step(a, small), small);
      assert.is(a.backendAllocs, allocs);
    }),
    { numRuns: 200, seed: 2 },
  );
});

test("a larger step after reset extends the chunks once, then is stable", () => {
  const be = new RefBackend("f32");
  const a = new Arena(be, 64);
  step(a, [10, 20, 30]);
  a.reset();
  const sizes = [10, 20, 30, 100, 5, 64];
  const second = step(a, sizes);
  assertDisjointAligned(second, sizes);
  const allocs = a.backendAllocs;
  const cap = a.capacity;
  a.reset();
  assert.equal(step(a, sizes), second);
  assert.is(a.backendAllocs, allocs);
  assert.is(a.capacity, cap);
});

test("steps of varying size stop growing the arena after a few chunks, within a bound of the peak", () => {
  // central training's minibatches differ in length from step to step; with exact-size chunks
  // every slightly larger request used to reserve one more chunk
  fc.assert(
    fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 12 }), { minLength: 5, maxLength: 60 }), (steps) => {
      const a = new Arena(new RefBackend("f32"), 256);
      for (const sizes of steps) {
        a.reset();
        step(a, sizes);
      }
      // each chunk is at least the sum of the earlier ones, so the last holds more than half
      assert.ok(a.backendAllocs <= Math.ceil(Math.log2((4 * a.peakElements) / 256 + 1)) + 1, `${a.backendAllocs} chunks for a peak of ${a.peakElements}`);
      assert.ok(a.capacity <= 4 * a.peakElements + 256 + 4 * 5000, `capacity ${a.capacity} for a peak of ${a.peakElements}`);
    }),
    { numRuns: 100, seed: 3 },
  );
});

test("arena offsets never overlap the backend's other allocations", () => {
  const be = new RefBackend("f32", 64);
  const a = new Arena(be, 32);
  const outside: number[] = [];
  const inside: number[] = [];
  for (let k = 0; k < 20; k++) {
    outside.push(be.alloc(7));
    inside.push(a.alloc(9 + k));
  }
  const sizes = [...outside.map(() => 7), ...inside.map((_, k) => 9 + k)];
  assertDisjointAligned([...outside, ...inside], sizes);
});

test("zeros() clears memory left by the previous step", () => {
  const be = new RefBackend("f64");
  const a = new Arena(be, 16);
  const x = a.alloc(10);
  be.f.fill(7, x, x + 10);
  a.reset();
  const z = a.zeros(10);
  assert.is(z, x);
  assert.equal(Array.from(be.f.subarray(z, z + 10)), new Array(10).fill(0));
});

test("zero-sized requests get distinct offsets; bad sizes throw", () => {
  const a = new Arena(new RefBackend("f32"), 8);
  assert.is.not(a.alloc(0), a.alloc(0));
  assert.throws(() => a.alloc(-1), /non-negative integer/);
  assert.throws(() => a.alloc(1.5), /non-negative integer/);
  assert.throws(() => new Arena(new RefBackend("f32"), 0), /positive integer/);
});

test("dispose returns the chunks; the backend can hand the memory out again", () => {
  const be = new RefBackend("f32", 1024);
  const a = new Arena(be, 100);
  const first = a.alloc(50);
  a.dispose();
  assert.is(a.capacity, 0);
  // first fit finds the block the arena gave back
  assert.is(be.alloc(100), first);
});

test("on WASM, memory growth during a step leaves earlier offsets valid (views are re-read)", async () => {
  for (const be of await wasmBackends()) {
    const a = new Arena(be, 1024);
    const x = a.alloc(4);
    be.f.set([1, 2, 3, 4], x);
    const before = be.memoryBytes;
    a.alloc(4 << 20); // 16 MiB: forces memory.grow
    assert.ok(be.memoryBytes > before, "memory did not grow");
    assert.equal(Array.from(be.f.subarray(x, x + 4)), [1, 2, 3, 4]);
    a.dispose();
  }
});

test.run();
