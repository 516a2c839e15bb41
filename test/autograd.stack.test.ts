// The two-block Transformer stack (autograd-stack.ts) end to end: its gradients equal finite
// differences on the f64 reference backend for a sample of every parameter, WASM agrees with the
// reference, and a training step after warm-up allocates no backend memory.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { Backend } from "../src/kernels/backend.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { detectSimd, loadWasmBackend, WasmBackend } from "../src/kernels/wasm-backend.js";
import { dimsArbitrary, expectGradients, expectWasmAgrees, instantiate } from "./autograd-harness.js";
import { stackCase } from "./autograd-stack.js";
import { adamStepper } from "./helpers.js";

const SAMPLE = 12;

const seeds = fc.integer({ min: 0, max: 2 ** 30 });

test("stack: gradients of every parameter equal finite differences (sampled)", () => {
  for (const [k, d] of stackCase.edge.entries()) expectGradients(stackCase, d, 40 + k, SAMPLE);
  fc.assert(fc.property(dimsArbitrary(stackCase), seeds, (d, seed) => expectGradients(stackCase, d, seed, 3)), { numRuns: 10, seed: 7 });
});

test("stack: WASM loss and gradients equal the f64 reference", async () => {
  for (const [k, d] of stackCase.edge.entries()) await expectWasmAgrees(stackCase, d, 50 + k);
  await fc.assert(fc.asyncProperty(dimsArbitrary(stackCase), seeds, (d, seed) => expectWasmAgrees(stackCase, d, seed)), { numRuns: 10, seed: 8 });
});

/** Fresh backends (the alloc counter is patched in, so the shared test backends are not used). */
async function freshBackends(): Promise<Backend[]> {
  const wasm: WasmBackend[] = [await loadWasmBackend({ simd: "simd" })];
  if (detectSimd() === "relaxed") wasm.push(await loadWasmBackend({ simd: "relaxed" }));
  return [...wasm, new RefBackend("f32")];
}

test("stack: after warm-up a training step (forward, backward, AdamW) allocates nothing", async () => {
  const d = stackCase.edge[0]!;
  for (const be of await freshBackends()) {
    let allocs = 0;
    const alloc = be.alloc.bind(be);
    be.alloc = (n: number) => {
      allocs++;
      return alloc(n);
    };
    const inst = instantiate(be, stackCase, d, 60);
    const adam = adamStepper(be, inst.ps, inst.tp);
    const step = (k: number): number => adam(k, inst.forward());
    const losses = [step(1), step(2)];
    const bytes = (): number => (be instanceof WasmBackend ? be.memoryBytes : be.f.length);
    const before = { allocs, arena: inst.tp.arena.backendAllocs, bytes: bytes() };
    for (let k = 3; k <= 30; k++) losses.push(step(k));
    const after = { allocs, arena: inst.tp.arena.backendAllocs, bytes: bytes() };
    assert.equal(after, before, `${be.name}: a step after warm-up allocated`);
    assert.ok(losses.every(Number.isFinite), `${be.name}: non-finite loss`);
    // same batch and dropout masks every step: the optimiser must make progress on it
    assert.ok(losses[losses.length - 1]! < 0.5 * losses[0]!, `${be.name}: loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  }
});

test.run();
