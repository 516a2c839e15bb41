// Dropout masks drawn by the dropout_mask kernel (assembly/dropout.ts): bit for bit the masks that
// JS draws from the same Rng, one rng.next() per element, with the Rng left in the same state, on
// every backend; and the keep rate of a long mask within a binomial bound.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { dropoutMask } from "../src/autograd/ops/dropout.js";
import { Tape } from "../src/autograd/tape.js";
import { Arena } from "../src/kernels/arena.js";
import { readF, readI, writeI, type Backend } from "../src/kernels/backend.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { Rng } from "../src/util/rng.js";
import { wasmBackends } from "./helpers.js";

/** The mask as autograd's dropout drew it in JS before the kernel (f32-rounded scale). */
function jsMask(rng: Rng, n: number, p: number): Float32Array {
  const keep = 1 / (1 - p);
  return Float32Array.from({ length: n }, () => (rng.next() < p ? 0 : keep));
}

/** The kernel's mask from rng's state; rng continues from the state the kernel leaves. */
function kernelMask(be: Backend, rng: Rng, n: number, p: number): Float64Array {
  const state = be.alloc(4);
  const out = be.alloc(n);
  try {
    writeI(be, state, rng.getState());
    be.dropoutMask(state, out, n, p);
    rng.setState(readI(be, state, 4));
    return readF(be, out, n);
  } finally {
    be.free(out);
    be.free(state);
  }
}

async function backends(): Promise<Backend[]> {
  return [...(await wasmBackends()), new RefBackend("f32")];
}

test("the kernel's mask and the Rng state after it equal JS's draws, bit for bit, on every backend", async () => {
  for (const be of await backends()) {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.integer({ min: 0, max: 5 }), (seed, n, p, skip) => {
        const js = new Rng(seed);
        const ours = new Rng(seed);
        // start anywhere in the stream
        for (let k = 0; k < skip; k++) js.nextU32(), ours.nextU32();
        const want = jsMask(js, n, p);
        const got = kernelMask(be, ours, n, p);
        for (let j = 0; j < n; j++) if (got[j] !== want[j]) return false;
        // the next draws agree: the kernel advanced the state by exactly n
        return ours.nextU32() === js.nextU32() && ours.nextU32() === js.nextU32();
      }),
      { numRuns: 60, seed: 7 },
    );
  }
});

test("keep rate of a 200,000-element mask within 6 binomial standard deviations; kept values are 1/(1 − p)", async () => {
  const n = 200_000;
  for (const be of await wasmBackends()) {
    for (const p of [0.1, 0.5, 0.9]) {
      const mask = kernelMask(be, new Rng(12345), n, p);
      const keep = Math.fround(1 / (1 - p));
      let dropped = 0;
      for (const v of mask) {
        if (v === 0) dropped++;
        else assert.is(v, keep);
      }
      // P(|X − np| > 6σ) < 2e-9 for a binomial of this size
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(dropped - n * p) <= 6 * sd, `${be.name} p=${p}: ${dropped} dropped, expected ${n * p} ± ${(6 * sd).toFixed(0)}`);
    }
  }
});

test("edge cases: n = 0 leaves the state alone; p = 0 keeps every value at 1; p close to 1 drops nearly all", async () => {
  for (const be of await backends()) {
    const rng = new Rng(3);
    const before = rng.getState();
    assert.equal(kernelMask(be, rng, 0, 0.5), new Float64Array(0));
    assert.equal(rng.getState(), before);
    assert.ok(kernelMask(be, new Rng(4), 257, 0).every((v) => v === 1));
    const m = kernelMask(be, new Rng(5), 1000, 0.999);
    assert.ok(m.filter((v) => v !== 0).length <= 10, be.name);
  }
});

test("a dropout probability outside [0, 1), or NaN, is refused by name; Rng.setState refuses bad words", async () => {
  for (const be of await backends()) {
    for (const p of [1, -0.1, NaN, 2]) assert.throws(() => kernelMask(be, new Rng(1), 4, p), /dropout probability must be in \[0, 1\)/);
  }
  const r = new Rng(1);
  assert.throws(() => r.setState([0, 0, 0, 0]), /all zero/);
  assert.throws(() => r.setState([1, 2, 3]), /needs 4 state words/);
  assert.throws(() => r.setState([1, 2, 3, 0.5]), /word 3 is not an integer/);
});

test("autograd's dropoutMask draws through the kernel the mask JS drew, and moves the Rng as JS did", async () => {
  for (const be of await backends()) {
    const tp = new Tape(be, new Arena(be, 1 << 12));
    const js = new Rng(99);
    const ours = new Rng(99);
    for (const [n, p] of [[3120, 0.5], [17, 0.2], [1, 0.7]] as const) {
      const want = jsMask(js, n, p);
      const got = readF(be, dropoutMask(tp, n, p, ours), n);
      assert.equal(Array.from(got), Array.from(want), `${be.name} n=${n} p=${p}`);
    }
    assert.equal(ours.getState(), js.getState());
    tp.arena.reset();
  }
});

test.run();
