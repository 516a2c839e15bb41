// The kernel benchmark's bookkeeping: speed-ups within one op/shape/phase group, the target
// verdicts (a missing figure is the worst case) and the JSON rows of failed measurements.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { jsonResults, speedup, type Row } from "../bench/report.js";
import { checkTargets } from "../bench/targets.js";

const row = (impl: string, shape: Record<string, number>, medianNs?: number, error?: string): Row => ({
  op: "gemm_ab",
  phase: "fwd",
  shape,
  impl,
  flops: 1000,
  ...(medianNs === undefined ? {} : { medianNs, gflops: 1000 / medianNs }),
  ...(error ? { error } : {}),
});

const small = { M: 1, N: 2, K: 3, acc: 0 };
const large = { M: 4, N: 5, K: 6, acc: 0 };

test("speedup is the ratio of median times within a group", () => {
  const group = [row("wasm-simd", small, 10), row("tfjs-wasm", small, 40), row("ref-f32", small, undefined, "boom")];
  assert.is(speedup(group[0]!, group, "tfjs-wasm"), 4);
  assert.is(speedup(group[0]!, group, "ref-f32"), undefined);
});

test("a target passes only when every shape meets it; the worst shape is reported", () => {
  // GEMM ≥ 35 GFLOP/s: 1000 FLOPs in 20 ns = 50 GFLOP/s, in 40 ns = 25 GFLOP/s
  const rows = [row("wasm-simd", small, 20), row("wasm-simd", large, 40), row("wasm-relaxed", small, 20), row("wasm-relaxed", large, 20)];
  const gemm = checkTargets(rows, ["wasm-simd", "wasm-relaxed"]).filter((r) => r.target === "GEMM ≥ 35 GFLOP/s");
  assert.equal(gemm.map((r) => [r.impl, r.passed, r.measured]), [["wasm-simd", 1, 2], ["wasm-relaxed", 2, 2]]);
  assert.is(gemm[0]!.worst!.value, 25);
  assert.is(gemm[0]!.worst!.shape, "M=4 N=5 K=6 acc=0");
});

test("the projection target covers only GEMM shapes with a d×d weight", () => {
  // P·V in attention (only 1× TensorFlow.js here) and X·W (4×)
  const attentionShape = { M: 65, N: 48, K: 65, acc: 0 };
  const projectionShape = { M: 65, N: 48, K: 48, acc: 0 };
  const rows = [
    row("wasm-simd", attentionShape, 10), row("tfjs-wasm", attentionShape, 10),
    row("wasm-simd", projectionShape, 10), row("tfjs-wasm", projectionShape, 40),
  ];
  const [proj] = checkTargets(rows, ["wasm-simd"]).filter((r) => r.target === "projection GEMM ≥ 2× tfjs-wasm");
  assert.equal([proj!.passed, proj!.measured], [1, 1]);
});

test("a failed measurement fails the target and is its worst case", () => {
  const rows = [row("wasm-simd", small, 20), row("wasm-simd", large, undefined, "kernel missing")];
  const [gemm] = checkTargets(rows, ["wasm-simd"]).filter((r) => r.target === "GEMM ≥ 35 GFLOP/s");
  assert.is(gemm!.passed, 1);
  assert.is(gemm!.worst!.value, null);
  assert.is(gemm!.worst!.shape, "M=4 N=5 K=6 acc=0");
});

test("JSON rows keep failed measurements with null figures and the error", () => {
  const [ok, failed] = jsonResults([row("wasm-simd", small, 20), row("tfjs-wasm", small, undefined, "no kernel")]) as Record<string, unknown>[];
  assert.equal(ok, { op: "gemm_ab", phase: "fwd", shape: small, impl: "wasm-simd", gflops: 50, median_ns: 20, samples: 0 });
  assert.is(failed!.gflops, null);
  assert.is(failed!.median_ns, null);
  assert.is(failed!.error, "no kernel");
});

test.run();
