// The performance targets fedfacet's kernels are held to, checked against the benchmark's rows for
// every WASM build measured. A target passes when it holds at every benchmark shape of its ops.
import type { Dims } from "../src/kernels/ops/registry.js";
import type { Phase } from "./impls.js";
import { REF, TFJS, TFJS_FRESH, shapeText, speedup, type Row } from "./report.js";

type Metric = "GFLOP/s" | "×tfjs" | "×tfjs-fresh-w" | "×ref";
/** The implementation each ratio compares with. */
const VERSUS: Record<Exclude<Metric, "GFLOP/s">, string> = { "×tfjs": TFJS, "×tfjs-fresh-w": TFJS_FRESH, "×ref": REF };

interface Target {
  label: string;
  ops: string[];
  phases: Phase[];
  metric: Metric;
  min: number;
  /** Which benchmark shapes the target covers (default: all of its ops' shapes). */
  covers?(op: string, d: Dims): boolean;
}

const GEMMS = ["gemm_ab", "gemm_abt", "gemm_atb"];
// The GEMM table also holds attention's inner products; a projection's weight is d×d: N = K for
// X·W and dY·Wᵀ, M = N for the weight gradient Xᵀ·dY.
const projection = (op: string, d: Dims) => (op === "gemm_atb" ? d.M === d.N : d.N === d.K);

export const TARGETS: Target[] = [
  { label: "GEMM ≥ 35 GFLOP/s", ops: GEMMS, phases: ["fwd"], metric: "GFLOP/s", min: 35 },
  { label: "attention fwd+bwd ≥ 30 GFLOP/s", ops: ["attention"], phases: ["fwd+bwd"], metric: "GFLOP/s", min: 30 },
  { label: "attention fwd+bwd ≥ 5× tfjs-wasm", ops: ["attention"], phases: ["fwd+bwd"], metric: "×tfjs", min: 5 },
  { label: "FFN fwd+bwd ≥ 30 GFLOP/s", ops: ["ffn"], phases: ["fwd+bwd"], metric: "GFLOP/s", min: 30 },
  { label: "FFN fwd+bwd ≥ 5× tfjs-wasm", ops: ["ffn"], phases: ["fwd+bwd"], metric: "×tfjs", min: 5 },
  { label: "projection GEMM ≥ 2× tfjs-wasm", ops: GEMMS, phases: ["fwd"], metric: "×tfjs", min: 2, covers: projection },
  // the same, against TensorFlow.js as training runs it: new weights every call (impls.ts)
  { label: "projection x·W ≥ 2× tfjs-wasm, new W per call", ops: ["gemm_ab"], phases: ["fwd"], metric: "×tfjs-fresh-w", min: 2, covers: projection },
  // the compute-bound kernels; memory-bound vector ops cannot be 30× a scalar loop
  { label: "GEMM/attention/FFN ≥ 30× TS reference", ops: [...GEMMS, "attention", "ffn"], phases: ["fwd", "fwd+bwd"], metric: "×ref", min: 30 },
];

export interface TargetResult {
  target: string;
  impl: string;
  /** Shapes that met the target, out of those measured (a failed measurement counts as a miss). */
  passed: number;
  measured: number;
  worst: { value: number | null; op: string; phase: Phase; shape: string } | null;
}

function value(row: Row, group: Row[], metric: Metric): number | undefined {
  if (metric === "GFLOP/s") return row.gflops;
  return speedup(row, group, VERSUS[metric]);
}

export function checkTargets(rows: Row[], wasmImpls: string[]): TargetResult[] {
  const out: TargetResult[] = [];
  for (const t of TARGETS) {
    for (const impl of wasmImpls) {
      const mine = rows.filter(
        (r) => r.impl === impl && t.ops.includes(r.op) && t.phases.includes(r.phase) && (t.covers?.(r.op, r.shape) ?? true),
      );
      const res: TargetResult = { target: t.label, impl, passed: 0, measured: mine.length, worst: null };
      // a shape without a figure (failed, or no comparison row) is the worst case of all
      let worstKey = Infinity;
      for (const r of mine) {
        const group = rows.filter((g) => g.op === r.op && g.phase === r.phase && shapeText(g.shape) === shapeText(r.shape));
        const v = value(r, group, t.metric);
        if (v !== undefined && v >= t.min) res.passed++;
        const key = v ?? -Infinity;
        if (res.worst === null || key < worstKey) {
          worstKey = key;
          res.worst = { value: v ?? null, op: r.op, phase: r.phase, shape: shapeText(r.shape) };
        }
      }
      out.push(res);
    }
  }
  return out;
}

export function targetLines(results: TargetResult[]): string[] {
  const lines = ["targets (a target passes when it holds at every benchmark shape):"];
  const unchecked = new Set(results.filter((r) => r.measured === 0).map((r) => r.target));
  for (const r of results) {
    if (r.measured === 0) continue;
    const head = `  ${r.target.padEnd(40)} ${r.impl.padEnd(13)}`;
    const verdict = r.passed === r.measured ? "PASS" : "FAIL";
    const w = r.worst!;
    const worst = w.value === null ? "no figure" : w.value.toFixed(2);
    lines.push(`${head} ${verdict} ${r.passed}/${r.measured}  worst ${worst} at ${w.op} ${w.phase} ${w.shape}`);
  }
  if (unchecked.size) lines.push(`  not checked (their ops were not run): ${[...unchecked].join("; ")}`);
  return lines;
}
