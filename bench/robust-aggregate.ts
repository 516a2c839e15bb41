// Cost of the aggregation rules at KuaiSAR-R's scale: n clients × d values per update (default
// 1,791 × 42,308, mrff's shared partition plus one expert per block, ~303 MB of f32 rows), each
// rule timed in CPU time (the machine is shared), and the peak resident memory the rules add to
// the rows' (maxRSS after building the rows, and after every rule ran). foolsgold's time includes
// its trust (the Gram matrix on the WASM GEMM).
// Rows look like one Adam step: ±lr on a quarter of the coordinates, 0 elsewhere.
//
//   node dist/bench/robust-aggregate.js [--clients N] [--values D]
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { aggregateRows } from "../src/federated/robust/aggregate-rows.js";
import { foolsGoldTrust } from "../src/federated/robust/foolsgold.js";
import { RULE_KINDS } from "../src/federated/robust/rules.js";
import { Rng } from "../src/util/rng.js";
import { benchArgs } from "./bench-args.js";

const a = benchArgs({ clients: { type: "string", default: "1791" }, values: { type: "string", default: "42308" } });
const n = Number(a.clients);
const d = Number(a.values);
if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(d) && d >= 1)) {
  console.error("robust-aggregate: --clients and --values must be positive integers");
  process.exit(2);
}
const rng = new Rng(1);
const rows = Array.from({ length: n }, () => {
  const r = new Float32Array(d);
  for (let j = 0; j < d; j++) if ((rng.nextU32() & 3) === 0) r[j] = rng.nextU32() & 1 ? 0.1 : -0.1;
  return r;
});
const input = { rows, clients: Int32Array.from({ length: n }, (_, i) => i), weights: new Float64Array(n).fill(1) };
const out = new Float64Array(d);
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const peak = () => process.resourceUsage().maxRSS * 1024;
const withRows = peak();
console.log(`${n} clients × ${d} values (${mib(n * d * 4)} MiB of rows), peak RSS with the rows ${mib(withRows)} MiB`);
const be = await loadWasmBackend();
console.log("| rule | CPU s |\n|---|---|");
for (const kind of RULE_KINDS) {
  const t = process.cpuUsage();
  const trust = kind === "foolsgold" ? foolsGoldTrust(be, rows) : undefined;
  aggregateRows({ kind, trim: 0.1, bound: "median", agree: 0.1 }, { ...input, ...(trust && { trust }) }, out);
  const u = process.cpuUsage(t);
  console.log(`| ${kind} | ${((u.user + u.system) / 1e6).toFixed(2)} |`);
}
console.log(`peak RSS after every rule: ${mib(peak())} MiB (+${mib(peak() - withRows)} MiB)`);
