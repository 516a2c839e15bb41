// Shared test setup: the WASM backends this runtime can run (the SIMD build always; the relaxed
// build too when node runs with --experimental-wasm-relaxed-simd, as test/run.mjs does).
import { detectSimd, loadWasmBackend, type WasmBackend } from "../src/kernels/wasm-backend.js";

let cached: Promise<WasmBackend[]> | undefined;

export function wasmBackends(): Promise<WasmBackend[]> {
  cached ??= (async () => {
    const levels = detectSimd() === "relaxed" ? (["simd", "relaxed"] as const) : (["simd"] as const);
    return Promise.all(levels.map((simd) => loadWasmBackend({ simd })));
  })();
  return cached;
}
