// `fedfacet bench kernels`: the kernel micro-benchmark (bench/kernels.ts). The benchmark code and
// tinybench are loaded only when this command runs, so the other commands never need them.
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ALL_OPS } from "../kernels/ops/index.js";
import { optionError, UsageError, type Command } from "./command.js";

const HELP = `Usage: fedfacet bench kernels [--ops NAMES] [--quick] [--clock cpu|wall] [--json FILE]

Times every kernel at the model's shapes on our WASM build(s), our plain-TypeScript reference
and TensorFlow.js's wasm backend doing the same maths, forward and forward+backward, and prints
GFLOP/s with the speed-ups over TensorFlow.js and over the reference, then the performance
targets. Exits 1 when any measurement failed (its row says why).

Options:
  --ops NAMES   comma-separated op names (default: all)
  --quick       smallest shape per op, short timings: a smoke test (rough figures)
  --clock C     cpu (default): samples in this process's CPU time, so pre-emption by other
                work on a shared machine is not charged; wall: elapsed time
  --json FILE   also write {"machine", "results", "targets"} to FILE (atomically)
  -h, --help    show this help

Both WASM builds are measured where the runtime has relaxed SIMD. On Node 20 the fedfacet command
restarts node with --experimental-wasm-relaxed-simd for that (FEDFACET_NO_REEXEC=1: it does not).

Ops: ${ALL_OPS.map((op) => op.name).join(", ")}`;

function parseKernelsArgs(args: string[]) {
  try {
    const options = {
      ops: { type: "string" },
      quick: { type: "boolean" },
      clock: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    } as const;
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw optionError(e);
  }
}

async function kernels(args: string[]): Promise<number> {
  const opts = parseKernelsArgs(args);
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const ops = opts.ops?.split(",").map((s) => s.trim()).filter(Boolean);
  if (ops?.length === 0) throw new UsageError("--ops needs at least one op name");
  const clock = opts.clock ?? "cpu";
  if (clock !== "cpu" && clock !== "wall") throw new UsageError(`--clock: must be cpu or wall, got '${clock}'`);
  const json = opts.json === undefined ? undefined : resolve(opts.json);
  // fail before a run of minutes, not after it
  if (json && !(existsSync(dirname(json)) && statSync(dirname(json)).isDirectory())) {
    throw new UsageError(`--json: directory '${dirname(json)}' does not exist`);
  }
  let bench: typeof import("../../bench/kernels.js");
  try {
    bench = await import("../../bench/kernels.js");
  } catch (e) {
    throw new Error(`the benchmark needs fedfacet's development dependencies (npm install in its repository): ${(e as Error).message}`);
  }
  try {
    bench.selectOps(ops);
  } catch (e) {
    throw new UsageError(`--ops: ${(e as Error).message}`);
  }
  const report = await bench.runKernelBench({ ops, quick: opts.quick, clock, log: (line) => console.log(line) });
  if (json) {
    bench.writeReport(json, report);
    console.log(`wrote ${json}`);
  }
  return report.failures > 0 ? 1 : 0;
}

export const benchCommand: Command = {
  name: "bench",
  summary: "bench kernels: time every kernel against the TS reference and TensorFlow.js",
  async run(args) {
    const [target, ...rest] = args;
    if (target === "kernels") return kernels(rest);
    if (target === undefined || target === "-h" || target === "--help") {
      console.log(HELP);
      return target === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown benchmark '${target}' (known: kernels)`);
  },
};
