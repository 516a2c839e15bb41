// Rows of the kernel benchmark, their ratios, the printed table and the JSON document.
import { availableParallelism, cpus, loadavg } from "node:os";
import type { Dims } from "../src/kernels/ops/registry.js";
import type { Phase } from "./impls.js";

export interface Row {
  op: string;
  phase: Phase;
  shape: Dims;
  impl: string;
  /** Work of one call (forward, or forward + backward), in floating-point operations. */
  flops: number;
  medianNs?: number;
  gflops?: number;
  samples?: number;
  /** Why this implementation failed here: the row is kept so that nothing is skipped silently. */
  error?: string;
  note?: string;
}

export const TFJS = "tfjs-wasm";
/** TensorFlow.js's wasm backend given a new right-hand-side tensor every call (impls.ts). */
export const TFJS_FRESH = "tfjs-fresh-w";
export const REF = "ref-f32";

export function shapeText(d: Dims): string {
  return Object.entries(d)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** How many times faster `row` is than implementation `impl` on the same op, shape and phase. */
export function speedup(row: Row, group: Row[], impl: string): number | undefined {
  const other = group.find((r) => r.impl === impl);
  if (other?.medianNs === undefined || row.medianNs === undefined) return undefined;
  // the same work on both sides, so the ratio of times (also defined for ops with no FLOPs)
  return other.medianNs / row.medianNs;
}

function time(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

const num = (x: number | undefined, digits: number): string => (x === undefined ? "-" : x.toFixed(digits));

/** Column widths: the op and shape columns fit the longest op name and shape of the run. */
export interface Layout {
  widths: number[];
}

const HEADINGS = ["op", "phase", "shape", "impl", "median", "GFLOP/s", "×tfjs", "×ref"];

export function layout(ops: string[], shapes: Dims[]): Layout {
  const longest = (xs: string[], min: number) => Math.max(min, ...xs.map((x) => x.length));
  return { widths: [longest(ops, 2), 8, longest(shapes.map(shapeText), 5), 13, 10, 8, 7, 8] };
}

function line(l: Layout, cells: string[], note = ""): string {
  const parts = cells.map((c, k) => (k < 4 ? c.padEnd(l.widths[k]!) : c.padStart(l.widths[k]!)));
  return (parts.join(" ") + (note ? `  ${note}` : "")).trimEnd();
}

export function tableHeader(l: Layout): string[] {
  const head = line(l, HEADINGS);
  return [head, "-".repeat(head.length)];
}

/** The rows of one op, shape and phase, with ratios against TensorFlow.js and our reference. */
export function tableRows(l: Layout, group: Row[]): string[] {
  return group.map((r) =>
    line(
      l,
      [
        r.op, r.phase, shapeText(r.shape), r.impl,
        r.medianNs === undefined ? "-" : time(r.medianNs),
        num(r.gflops, 2), num(speedup(r, group, TFJS), 2), num(speedup(r, group, REF), 1),
      ],
      r.error ? `ERROR: ${r.error}` : (r.note ?? ""),
    ),
  );
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  simd: string;
  tfjs: string;
  /** Clock the samples were read from ("cpu": process CPU time; "wall": elapsed time). */
  clock: string;
  /** Load average over the last minute when the run started (other work sharing the cores). */
  load: number;
  date: string;
}

export function machineInfo(simd: string, tfjs: string, clock: string): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    simd,
    tfjs,
    clock,
    load: loadavg()[0] ?? 0,
    date: new Date().toISOString(),
  };
}

/** The JSON result rows: failed implementations keep their row with null figures and the error. */
export function jsonResults(rows: Row[]): object[] {
  return rows.map((r) => ({
    op: r.op,
    phase: r.phase,
    shape: r.shape,
    impl: r.impl,
    gflops: r.gflops ?? null,
    median_ns: r.medianNs ?? null,
    samples: r.samples ?? 0,
    ...(r.error ? { error: r.error } : {}),
    ...(r.note ? { note: r.note } : {}),
  }));
}
