// Test AUC against the privacy budget ε of user-level DP-FedAvg on a KuaiSAR-style data set: one
// `fedfacet train` child process per (sampling rate, ε) with central noise, ε = inf being the same
// run without DP, and per (sampling rate, ε in --local-epsilons) with each client adding its own
// noise (local DP). The table is rewritten after every run, and a run whose report says it ended
// is not run again, so that an interrupted sweep continues where it stopped.
//
//   node dist/bench/dp.js [--data DIR] [--rounds 20] [--ratios 1,0.2] [--epsilons inf,8,4,1]
//        [--delta 1e-5] [--clip 18] [--local-epsilons 8] [--model mrff] [--seed 1] [--workers 2]
//        [--out bench/results/dp-kuaisar-r.md]
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { TrainReport } from "../src/federated/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { median } from "./experiment-table.js";

// dist/bench/dp.js -> the package root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");

const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: process.env.FEDFACET_KUAISAR ?? join(ROOT, "../shared/data/kuaisar-r") },
    rounds: { type: "string", default: "20" },
    ratios: { type: "string", default: "1,0.2" },
    epsilons: { type: "string", default: "inf,8,4,1" },
    delta: { type: "string", default: "1e-5" },
    clip: { type: "string", default: "18" },
    "local-epsilons": { type: "string", default: "" },
    model: { type: "string", default: "mrff" },
    seed: { type: "string", default: "1" },
    workers: { type: "string", default: "2" },
    out: { type: "string", default: join(ROOT, "bench/results/dp-kuaisar-r.md") },
  },
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
const out = resolve(a.out!);
const runsDir = join(ROOT, "out/dp/runs");

interface Run {
  ratio: number;
  noise: string;
  epsilon: number;
}

const runs: Run[] = [];
for (const ratio of ratios) {
  for (const epsilon of epsilons) runs.push({ ratio, noise: epsilon === Infinity ? "–" : "central", epsilon });
  for (const epsilon of localEpsilons) runs.push({ ratio, noise: "local", epsilon });
}

const runDir = (r: Run) => join(runsDir, `${a.model}-q${r.ratio}-${r.epsilon === Infinity ? "nodp" : `eps${r.epsilon}-${r.noise}`}-seed${a.seed}`);

function trainArgs(r: Run): string[] {
  const args = ["train", "--data", data, "--model", a.model!, "--rounds", a.rounds!, "--seed", a.seed!, "--workers", a.workers!, "--client-ratio", String(r.ratio), "--out", runDir(r), "--force"];
  if (r.epsilon !== Infinity) args.push("--dp-epsilon", String(r.epsilon), "--dp-delta", a.delta!, "--dp-clip", a.clip!, "--dp-noise", r.noise);
  return args;
}

function readReport(r: Run): TrainReport | null {
  const file = join(runDir(r), "report.json");
  if (!existsSync(file)) return null;
  const rep = JSON.parse(readFileSync(file, "utf8")) as TrainReport;
  return rep.completed || rep.stopped !== undefined ? rep : null;
}

async function runOne(r: Run): Promise<void> {
  if (readReport(r)) return;
  const args = [...process.execArgv, CLI, ...trainArgs(r)];
  console.error(`\n== q ${r.ratio}, epsilon ${r.epsilon}, ${r.noise}: node ${args.slice(process.execArgv.length).join(" ")}`);
  const code = await new Promise<number | null>((ok, ko) => spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] }).on("error", ko).on("exit", ok));
  if (code !== 0) throw new Error(`q ${r.ratio}, epsilon ${r.epsilon}: 'fedfacet train' exited with code ${code}`);
}

const f3 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(3));

function row(r: Run): string {
  const rep = readReport(r);
  const head = `| ${r.ratio} | ${r.epsilon === Infinity ? "∞ (no DP)" : r.epsilon} | ${r.noise} |`;
  if (!rep || !rep.best) return `${head} (not run yet) | | | | | | | |`;
  const b = rep.best;
  const dp = rep.config.dp;
  const spent = rep.rounds.at(-1)?.epsilon;
  return (
    `${head} ${dp ? dp.noiseMultiplier : "–"} | ${dp ? f3(spent) : "–"} | ${rep.rounds.length} | ${b.round} | ${f3(b.val_auc)} | ` +
    `**${f3(b.test_auc)}** (${f3(b.test_auc_ci[0])}–${f3(b.test_auc_ci[1])}) | ${f3(b.test_logloss)} | ${median(rep.rounds.map((x) => x.seconds)).toFixed(2)} |`
  );
}

const started = new Date();

function writeTable(): void {
  const command = `node dist/bench/dp.js ${process.argv.slice(2).join(" ")}`.trim();
  const md = `# Differential privacy: test AUC against epsilon on ${data}

${a.model}, ${a.rounds} rounds, seed ${a.seed}, ${a.workers} workers on ${cpus().length} cores (node ${process.version}), started ${started.toISOString()}, written ${new Date().toISOString()}.
User-level DP-FedAvg (README "Differential privacy"): each client's update clipped to L2 norm ${a.clip}, Gaussian
noise σ·${a.clip} added to the sum (central) or by every client to its own update (local), clients Poisson-sampled at rate q, delta ${a.delta}; σ calibrated by the RDP
accountant so that the ${a.rounds} planned rounds spend at most the target epsilon. "∞": the same run without DP
(fixed-size sampling, plain means, no clipping). Test figures at the round of best validation AUC, with the
bootstrap 95% interval (1000 resamples). s/round: median wall time of a round (training + evaluation).

| q | target ε | noise | σ | ε spent | rounds | best round | val AUC | test AUC (95% CI) | test LogLoss | s/round |
|---|---|---|---|---|---|---|---|---|---|---|
${runs.map(row).join("\n")}

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
