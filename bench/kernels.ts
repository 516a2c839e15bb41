// `fedfacet bench kernels`: every op of the op table at the model's shapes, timed in one process on
// our WASM build(s), our plain-TypeScript reference and TensorFlow.js's wasm backend doing the
// same maths; forward and forward+backward separately. An implementation that fails keeps its row
// with the error, so nothing is skipped silently.
import { ALL_OPS, type OpDef } from "../src/kernels/ops/index.js";
import { makeInputs, mismatch, runForward, type HostTensors } from "../src/kernels/ops/harness.js";
import type { Dims } from "../src/kernels/ops/registry.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { detectSimd, loadWasmBackend, type WasmBackend } from "../src/kernels/wasm-backend.js";
import { backendImpl, tfjsFreshBImpl, tfjsImpl, tfjsOutputs, type Impl, type Phase } from "./impls.js";
import { measure, type Budget, type Clock } from "./measure.js";
import { jsonResults, layout, machineInfo, tableHeader, tableRows, type Machine, type Row } from "./report.js";
import { checkTargets, targetLines, type TargetResult } from "./targets.js";
import { loadTfjs, type TfjsRuntime } from "./tfjs.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";

export interface KernelBenchOptions {
  /** Op names to run (default: every op). */
  ops?: string[];
  /** The smallest benchmark shape of each op and short timings: a smoke test. */
  quick?: boolean;
  /** Clock the samples are read from (default "cpu"; see measure.ts). */
  clock?: Clock;
  log(line: string): void;
}

export interface KernelBenchReport {
  machine: Machine;
  rows: Row[];
  targets: TargetResult[];
  /** Rows whose implementation failed. */
  failures: number;
}

// Warm-up runs past V8's lazy tier-up (of our WASM, TensorFlow.js's WASM and the JIT's code),
// then samples; at the largest shapes, where one call takes up to half a second (TensorFlow.js)
// or a second (the reference), the minimum iteration counts bound the time instead. The
// reference gets fewer timed calls.
const BUDGETS: Record<"full" | "quick", { fast: Budget; slow: Budget }> = {
  full: {
    fast: { warmupMs: 100, warmupIterations: 2, timeMs: 150, iterations: 5 },
    slow: { warmupMs: 100, warmupIterations: 1, timeMs: 100, iterations: 3 },
  },
  quick: {
    fast: { warmupMs: 20, warmupIterations: 2, timeMs: 30, iterations: 5 },
    slow: { warmupMs: 10, warmupIterations: 1, timeMs: 0, iterations: 2 },
  },
};

/** The ops named (all when names is undefined); throws naming any unknown op. */
export function selectOps(names: string[] | undefined): OpDef[] {
  if (!names) return ALL_OPS;
  const unknown = names.filter((n) => !ALL_OPS.some((op) => op.name === n));
  if (unknown.length) {
    throw new Error(`unknown op${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `'${n}'`).join(", ")} (known: ${ALL_OPS.map((op) => op.name).join(", ")})`);
  }
  return ALL_OPS.filter((op) => names.includes(op.name));
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

function smallest(op: OpDef): Dims[] {
  return [op.bench.reduce((a, b) => (op.flops(b) < op.flops(a) ? b : a))];
}

/** Whether TensorFlow.js computes what our kernel computes: a note for its rows when it does not. */
function tfjsCheck(rt: TfjsRuntime, op: OpDef, d: Dims, host: HostTensors, ours: WasmBackend): string | undefined {
  let want: { out: HostTensors; scalar: number | undefined };
  try {
    want = runForward(ours, op, d, host);
  } catch {
    return undefined; // our kernel failed: its own rows say so
  }
  try {
    const { out, checkAbs } = tfjsOutputs(rt, op, d, host);
    for (const [name, got] of out) {
      const ref = name === "result" ? [want.scalar ?? NaN] : want.out.get(name);
      if (!ref) return `output check: op has no output '${name}'`;
      let peak = 0;
      for (const v of ref) peak = Math.max(peak, Math.abs(v));
      const e = mismatch(name, got, ref, { abs: Math.max(checkAbs, 1e-6 + 1e-3 * peak), rel: 1e-3 });
      if (e) return `differs from ours: ${e}`;
    }
  } catch (e) {
    return `output check failed: ${message(e)}`;
  }
  return undefined;
}

async function timeOne(impl: Impl, op: OpDef, d: Dims, host: HostTensors, phase: Phase, budget: Budget, clock: Clock, row: Row): Promise<void> {
  try {
    const prepared = impl.prepare(op, d, host, phase);
    try {
      const m = await measure(prepared, budget, clock);
      row.medianNs = m.medianNs;
      row.samples = m.samples;
      if (row.flops > 0) row.gflops = row.flops / m.medianNs;
    } finally {
      prepared.dispose();
    }
  } catch (e) {
    row.error = message(e);
  }
}

export async function runKernelBench(opts: KernelBenchOptions): Promise<KernelBenchReport> {
  const { log } = opts;
  const ops = selectOps(opts.ops);
  const budgets = BUDGETS[opts.quick ? "quick" : "full"];
  const level = detectSimd();
  if (level === null) throw new Error("this runtime has no WebAssembly SIMD; the kernels cannot run");

  const wasm = [await loadWasmBackend({ simd: "simd" })];
  if (level === "relaxed") wasm.push(await loadWasmBackend({ simd: "relaxed" }));
  else log("note: relaxed SIMD is not enabled in this runtime, so only the SIMD build is measured (Node 20: run node --experimental-wasm-relaxed-simd)");
  const impls: Impl[] = [...wasm.map((be) => backendImpl(be, false)), backendImpl(new RefBackend("f32"), true)];
  const tfjs = await loadTfjs();
  let tf: { rt: TfjsRuntime; impl: Impl } | undefined;
  if (tfjs.ok) {
    tf = { rt: tfjs.runtime, impl: tfjsImpl(tfjs.runtime) };
    impls.push(tf.impl, tfjsFreshBImpl(tfjs.runtime));
  } else log(`note: ${tfjs.reason}; the TensorFlow.js column is skipped`);

  const clock = opts.clock ?? "cpu";
  const machine = machineInfo(level, tf?.rt.description ?? "not available", clock);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}, WASM ${level}, TensorFlow.js ${machine.tfjs}`);
  log(`clock: ${clock === "cpu" ? "process CPU time" : "wall time"}; load average ${machine.load.toFixed(2)}`);
  log("");
  const shapesOf = (op: OpDef) => (opts.quick ? smallest(op) : op.bench);
  const table = layout(ops.map((op) => op.name), ops.flatMap(shapesOf));
  for (const l of tableHeader(table)) log(l);

  const rows: Row[] = [];
  const unsupported = new Map<string, Set<string>>();
  for (const op of ops) {
    for (const d of shapesOf(op)) {
      const host = makeInputs(op, d, 1);
      const tfNote = tf && !tf.impl.unsupported(op, "fwd") ? tfjsCheck(tf.rt, op, d, host, wasm[0]!) : undefined;
      for (const phase of op.grad ? (["fwd", "fwd+bwd"] as const) : (["fwd"] as const)) {
        const flops = op.flops(d) + (phase === "fwd+bwd" ? op.grad!.flops(d) : 0);
        const group: Row[] = [];
        for (const impl of impls) {
          const why = impl.unsupported(op, phase);
          if (why) {
            const key = `${impl.name}: ${why}`;
            unsupported.set(key, (unsupported.get(key) ?? new Set()).add(op.name));
            continue;
          }
          const row: Row = { op: op.name, phase, shape: d, impl: impl.name, flops };
          if (impl === tf?.impl && tfNote) row.note = tfNote;
          await timeOne(impl, op, d, host, phase, impl.slow ? budgets.slow : budgets.fast, clock, row);
          group.push(row);
        }
        for (const l of tableRows(table, group)) log(l);
        rows.push(...group);
      }
    }
  }

  log("");
  for (const [why, names] of unsupported) log(`not measured: ${why}: ${[...names].join(", ")}`);
  const targets = checkTargets(rows, wasm.map((be) => be.name));
  for (const l of targetLines(targets)) log(l);
  const failures = rows.filter((r) => r.error).length;
  if (failures) log(`${failures} measurement${failures > 1 ? "s" : ""} failed (ERROR rows above)`);
  return { machine, rows, targets, failures };
}

/** The report as the JSON document `--json` writes. */
export function reportJson(r: KernelBenchReport): string {
  return JSON.stringify({ machine: r.machine, results: jsonResults(r.rows), targets: r.targets }, null, 2) + "\n";
}

/** Writes the report's JSON document to path atomically (temporary file, fsync, rename). */
export function writeReport(path: string, r: KernelBenchReport): void {
  writeFileAtomic(path, reportJson(r));
}
