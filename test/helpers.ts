// Shared test setup: the WASM backends this runtime can run (the SIMD build always; the relaxed
// build too when node runs with --experimental-wasm-relaxed-simd, as test/run.mjs does), and the
// optimiser step of the training tests.
import type { Backend } from "../src/kernels/backend.js";
import { detectSimd, loadWasmBackend, type WasmBackend } from "../src/kernels/wasm-backend.js";
import { PARTITIONS, type ParamStore } from "../src/autograd/params.js";
import type { Tape } from "../src/autograd/tape.js";
import type { Tensor } from "../src/autograd/tensor.js";

let cached: Promise<WasmBackend[]> | undefined;

export function wasmBackends(): Promise<WasmBackend[]> {
  cached ??= (async () => {
    const levels = detectSimd() === "relaxed" ? (["simd", "relaxed"] as const) : (["simd"] as const);
    return Promise.all(levels.map((simd) => loadWasmBackend({ simd })));
  })();
  return cached;
}

/**
 * AdamW (lr 0.01, no decay) over every partition of `ps`, its moment buffers allocated now: each
 * call back-propagates `loss` from a fresh gradient, takes step k (from 1) and returns the loss.
 */
export function adamStepper(be: Backend, ps: ParamStore, tp: Tape): (k: number, loss: Tensor) => number {
  const opt = PARTITIONS.map((p) => {
    const buf = ps.buffer(p);
    return { buf, m: be.alloc(buf.size), v: be.alloc(buf.size) };
  });
  return (k, loss) => {
    const value = be.f[loss.offset]!;
    ps.zeroGrads();
    tp.backward(loss);
    for (const { buf, m, v } of opt) be.adamStep(buf.values, buf.grads, m, v, buf.size, 0.01, 0.9, 0.999, 1e-8, 0, k);
    return value;
  };
}
