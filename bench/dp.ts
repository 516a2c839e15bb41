// Test AUC against the privacy budget ε of user-level DP-FedAvg on a KuaiSAR-style data set: one
// `fedfacet train` child process per (sampling rate, seed, ε) with central noise, ε = inf being the
// same run without DP, and per (sampling rate, ε in --local-epsilons) with each client adding its
// own noise (local DP; first seed only). A run whose report says it ended is not run again, so an
// interrupted sweep continues where it stopped; the table, rewritten after every run, pools by
// (q, ε, noise) every finished run in the runs folder, this sweep's and earlier ones'.
//
//   node dist/bench/dp.js [--data DIR] [--rounds 20] [--ratios 1,0.2] [--epsilons inf,8,4,1]
//        [--delta 1e-5] [--clip 18] [--local-epsilons 8] [--model mrff] [--seeds 1] [--workers 2]
//        [--out bench/results/dp-kuaisar-r.md]
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TrainReport } from "../src/federated/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { median } from "./experiment-table.js";
import { benchArgs, KUAISAR_DEFAULT } from "./bench-args.js";

// dist/bench/dp.js -> the package root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");

const a = benchArgs({
  data: { type: "string", default: KUAISAR_DEFAULT },
  rounds: { type: "string", default: "20" },
  ratios: { type: "string", default: "1,0.2" },
  epsilons: { type: "string", default: "inf,8,4,1" },
  delta: { type: "string", default: "1e-5" },
  clip: { type: "string", default: "18" },
  "local-epsilons": { type: "string", default: "" },
  model: { type: "string", default: "mrff" },
  seeds: { type: "string", default: "1" },
  workers: { type: "string", default: "2" },
  out: { type: "string", default: join(ROOT, "bench/results/dp-kuaisar-r.md") },
});

function fail(msg: string): never {
  console.error(`dp: ${msg}`);
  process.exit(2);
}

function list(name: string, v: string, ok: (n: number) => boolean): number[] {
  const xs = v.split(",").map((s) => (s.trim() === "inf" ? Infinity : Number(s)));
  if (xs.length === 0 || !xs.every(ok)) fail(`--${name}: '${v}' is not a comma-separated list of valid values`);
  return xs;
}

const data = resolve(a.data!);
if (!existsSync(join(data, "df.csv"))) fail(`no KuaiSAR-style data set at '${data}' (df.csv is missing): give one with --data DIR or FEDFACET_KUAISAR`);
const ratios = list("ratios", a.ratios!, (q) => q > 0 && q <= 1);
const epsilons = list("epsilons", a.epsilons!, (e) => e > 0);
const localEpsilons = a["local-epsilons"] === "" ? [] : list("local-epsilons", a["local-epsilons"]!, (e) => e > 0 && e < Infinity);
const seeds = list("seeds", a.seeds!, (n) => Number.isInteger(n) && n >= 0);
const out = resolve(a.out!);
const runsDir = join(ROOT, "out/dp/runs");

interface Run {
  ratio: number;
  noise: string;
  epsilon: number;
  seed: number;
}

const runs: Run[] = [];
for (const ratio of ratios) {
  for (const seed of seeds) for (const epsilon of epsilons) runs.push({ ratio, noise: epsilon === Infinity ? "–" : "central", epsilon, seed });
  for (const epsilon of localEpsilons) runs.push({ ratio, noise: "local", epsilon, seed: seeds[0]! });
}

const runDir = (r: Run) => join(runsDir, `${a.model}-q${r.ratio}-${r.epsilon === Infinity ? "nodp" : `eps${r.epsilon}-${r.noise}`}-seed${r.seed}`);

function trainArgs(r: Run): string[] {
  const args = ["train", "--data", data, "--model", a.model!, "--rounds", a.rounds!, "--seed", String(r.seed), "--workers", a.workers!, "--client-ratio", String(r.ratio), "--out", runDir(r), "--force"];
  if (r.epsilon !== Infinity) args.push("--dp-epsilon", String(r.epsilon), "--dp-delta", a.delta!, "--dp-clip", a.clip!, "--dp-noise", r.noise);
  return args;
}

function readReport(r: Run): TrainReport | null {
  return readReportIn(runDir(r));
}

function readReportIn(dir: string): TrainReport | null {
  const file = join(dir, "report.json");
  if (!existsSync(file)) return null;
  const rep = JSON.parse(readFileSync(file, "utf8")) as TrainReport;
  return rep.completed || rep.stopped !== undefined ? rep : null;
}

async function runOne(r: Run): Promise<void> {
  if (readReport(r)) return;
  const args = [...process.execArgv, CLI, ...trainArgs(r)];
  console.error(`\n== q ${r.ratio}, epsilon ${r.epsilon}, ${r.noise}, seed ${r.seed}: node ${args.slice(process.execArgv.length).join(" ")}`);
  const code = await new Promise<number | null>((ok, ko) => spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] }).on("error", ko).on("exit", ok));
  if (code !== 0) throw new Error(`q ${r.ratio}, epsilon ${r.epsilon}: 'fedfacet train' exited with code ${code}`);
}

const f3 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(3));

/** Every finished run of the model in the runs folder, grouped by (q, ε, noise). */
function groups(): TrainReport[][] {
  const byKey = new Map<string, TrainReport[]>();
  const dirs = existsSync(runsDir) ? readdirSync(runsDir).filter((d) => d.startsWith(`${a.model}-`)) : [];
  for (const d of dirs) {
    const rep = readReportIn(join(runsDir, d));
    if (!rep?.best || !("ratio" in rep.config.participation)) continue;
    const key = JSON.stringify([rep.config.participation.ratio, rep.config.dp?.epsilon ?? Infinity, rep.config.dp?.noise ?? "–"]);
    byKey.set(key, [...(byKey.get(key) ?? []), rep]);
  }
  const order = (reps: TrainReport[]) => {
    const c = reps[0]!.config;
    return [-("ratio" in c.participation ? c.participation.ratio : 0), c.dp?.noise === "local" ? 1 : 0, -(c.dp?.epsilon ?? Infinity)];
  };
  return [...byKey.values()]
    .map((reps) => reps.sort((x, y) => x.config.seed - y.config.seed))
    .sort((x, y) => {
      const [p, q] = [order(x), order(y)];
      return p[0]! - q[0]! || p[1]! - q[1]! || (p[2] === q[2] ? 0 : p[2]! < q[2]! ? -1 : 1);
    });
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

function row(reps: TrainReport[]): string {
  const c = reps[0]!.config;
  const dp = c.dp;
  const best = reps.map((r) => r.best!);
  const auc = best.map((b) => b.test_auc);
  const sd = auc.length > 1 ? Math.sqrt(auc.reduce((s, x) => s + (x - mean(auc)) ** 2, 0) / (auc.length - 1)) : null;
  const spent = Math.max(...reps.map((r) => r.rounds.at(-1)?.epsilon ?? 0));
  return (
    `| ${"ratio" in c.participation ? c.participation.ratio : "–"} | ${dp ? dp.epsilon : "∞ (no DP)"} | ${dp ? dp.noise : "–"} | ${reps.map((r) => r.config.seed).join(",")} | ` +
    `${dp ? dp.noiseMultiplier : "–"} | ${dp ? f3(spent) : "–"} | ${best.map((b) => b.round).join(",")} | ${f3(mean(best.map((b) => b.val_auc)))} | ` +
    `**${f3(mean(auc))}**${sd === null ? "" : ` ± ${f3(sd)}`} (${f3(mean(best.map((b) => b.test_auc_ci[0])))}–${f3(mean(best.map((b) => b.test_auc_ci[1])))}) | ` +
    `${f3(mean(best.map((b) => b.test_logloss)))} | ${median(reps.flatMap((r) => r.rounds.map((x) => x.seconds))).toFixed(2)} |`
  );
}

const started = new Date();

function writeTable(): void {
  const command = `node dist/bench/dp.js ${process.argv.slice(2).join(" ")}`.trim();
  const md = `# Differential privacy: test AUC against epsilon on ${data}

${a.model}, ${a.rounds} rounds, ${a.workers} workers on ${cpus().length} cores (node ${process.version}), started ${started.toISOString()}, written ${new Date().toISOString()}.
User-level DP-FedAvg (README "Differential privacy"): each client's update clipped to L2 norm ${a.clip}, Gaussian
noise σ·${a.clip} added to the sum (central) or by every client to its own update (local), clients Poisson-sampled at rate q, delta ${a.delta}; σ calibrated by the RDP
accountant so that the ${a.rounds} planned rounds spend at most the target epsilon. "∞": the same run without DP
(fixed-size sampling, plain means, no clipping). Test figures at the round of best validation AUC, with the
bootstrap 95% interval (1000 resamples); a row pools its seeds (mean ± sd, intervals averaged). s/round: median wall
time of a round (training + evaluation) on 2 cores shared with other jobs (load average about 20: indicative only).

| q | target ε | noise | seeds | σ | ε spent | best rounds | val AUC | test AUC (95% CI) | test LogLoss | s/round |
|---|---|---|---|---|---|---|---|---|---|---|
${groups().map(row).join("\n")}

Command: \`${command}\`
`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, md);
}

for (const r of runs) {
  await runOne(r);
  writeTable();
}
writeTable();
console.error(`\nwrote ${out}`);
