// The paper protocol on KuaiSAR-R for MRFF and every baseline, plus the floors, as one table.
// Each (model, seed) trains in its own `fedfacet train` child process, so that the peak RSS its
// report.json gives (process.resourceUsage().maxRSS, worker threads included) is that run's alone.
//
//   node dist/bench/experiment.js [--data DIR] [--rounds N] [--seeds 1,2,3]
//        [--models mrff,fedsasrec,local,central] [--workers W] [--out FILE.md|FILE.json]
//        [--train-args "OPTIONS"] [--model-args MODEL="OPTIONS"]... [--jobs J]
// --train-args: further `fedfacet train` options for every model; --model-args: instead of those,
// for one model (repeatable). --jobs: runs at once (default 1; more share the cores, which
// inflates s/round).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { INTERACTIONS_FILE, readFolder } from "../src/data/folder.js";
import { leaveOneOut, type LeaveOneOut } from "../src/data/split.js";
import { REGIMES, type Regime } from "../src/federated/config.js";
import { defaultWorkers } from "../src/federated/pool.js";
import { metricsOf, testAucInterval, type Scores } from "../src/federated/evaluate.js";
import type { TrainReport } from "../src/federated/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { markdownTable, median, modelRows, type RunSummary, type TableRow } from "./experiment-table.js";
import { logisticOnFields, userClickRate } from "./floors.js";
import { splitArgs } from "./train-args.js";
import { benchArgs, KUAISAR_DEFAULT } from "./bench-args.js";

// dist/bench/experiment.js -> the package root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");
const BOOTSTRAP = 1000;

const a = benchArgs({
  data: { type: "string", default: KUAISAR_DEFAULT },
  rounds: { type: "string", default: "20" },
  seeds: { type: "string", default: "1" },
  models: { type: "string", default: REGIMES.join(",") },
  workers: { type: "string", default: String(defaultWorkers()) },
  out: { type: "string", default: join(ROOT, "out/experiment/experiment.md") },
  "train-args": { type: "string", default: "" },
  "model-args": { type: "string", multiple: true, default: [] },
  jobs: { type: "string", default: "1" },
});

function fail(msg: string): never {
  console.error(`experiment: ${msg}`);
  process.exit(2);
}

const data = resolve(a.data!);
if (!existsSync(join(data, INTERACTIONS_FILE))) fail(`no KuaiSAR-style data set at '${data}' (${INTERACTIONS_FILE} is missing): give one with --data DIR`);
const rounds = Number(a.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1)) fail(`--rounds must be a positive integer, got '${a.rounds}'`);
const seeds = a.seeds!.split(",").map(Number);
if (!seeds.every((s) => Number.isInteger(s) && s >= 0)) fail(`--seeds must be non-negative integers separated by commas, got '${a.seeds}'`);
const models = a.models!.split(",") as Regime[];
for (const m of models) if (!REGIMES.includes(m)) fail(`--models: '${m}' is not one of ${REGIMES.join(", ")}`);
const modelArgs = new Map<Regime, string[]>(models.map((m) => [m, splitArgs(a["train-args"]!)]));
for (const spec of a["model-args"]!) {
  const eq = spec.indexOf("=");
  const m = spec.slice(0, eq) as Regime;
  if (eq < 0 || !REGIMES.includes(m)) fail(`--model-args must be MODEL="OPTIONS" with MODEL one of ${REGIMES.join(", ")}, got '${spec}'`);
  modelArgs.set(m, splitArgs(spec.slice(eq + 1)));
}
const jobs = Number(a.jobs);
if (!(Number.isInteger(jobs) && jobs >= 1)) fail(`--jobs must be a positive integer, got '${a.jobs}'`);
const workers = Number(a.workers);
if (!(Number.isInteger(workers) && workers >= 0)) fail(`--workers must be a non-negative integer, got '${a.workers}'`);
const out = resolve(a.out!);
const mdPath = out.endsWith(".json") ? out.slice(0, -5) + ".md" : out.endsWith(".md") ? out : out + ".md";
const jsonPath = mdPath.slice(0, -3) + ".json";
const runsDir = join(dirname(mdPath), "runs");

/** Trains one (model, seed) in a child process and summarises its report.json. */
async function runOne(model: Regime, seed: number): Promise<RunSummary> {
  const dir = join(runsDir, `${model}-seed${seed}`);
  const args = [...process.execArgv, CLI, "train", "--data", data, "--model", model, "--rounds", String(rounds), "--seed", String(seed), "--workers", String(workers), "--out", dir, "--force", ...modelArgs.get(model)!];
  console.error(`\n== ${model}, seed ${seed}: node ${args.slice(process.execArgv.length).join(" ")}`);
  const started = performance.now();
  const code = await new Promise<number | null>((ok, ko) => spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] }).on("error", ko).on("exit", ok));
  const wall = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${model}, seed ${seed}: 'fedfacet train' exited with code ${code}`);
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as TrainReport;
  if (r.best === null) throw new Error(`${model}, seed ${seed}: the report has no evaluated round`);
  return {
    model,
    seed,
    rounds: r.rounds.length,
    best_round: r.best.round,
    val_auc: r.best.val_auc,
    test_auc: r.best.test_auc,
    test_auc_ci: r.best.test_auc_ci,
    test_logloss: r.best.test_logloss,
    seconds_per_round: median(r.rounds.map((row) => row.seconds)),
    peak_rss_mb: r.peak_rss_mb,
    wall_seconds: wall,
  };
}

function floorRow(name: string, s: Scores, split: LeaveOneOut): TableRow {
  const m = metricsOf(s, split);
  return {
    model: name,
    seeds: [],
    val_auc: m.val_auc,
    test_auc_mean: m.test_auc,
    test_auc_sd: null,
    test_auc_ci: testAucInterval(s, split, seeds[0], BOOTSTRAP),
    test_logloss: m.test_logloss,
    seconds_per_round: null,
    peak_rss_mb: null,
    best_rounds: [],
  };
}

const started = new Date();
const todo = models.flatMap((model) => seeds.map((seed) => ({ model, seed })));
const runs: RunSummary[] = new Array(todo.length);
let nextRun = 0;
// `jobs` lanes take the runs in order; results keep the order of `todo` whatever finishes first
await Promise.all(
  Array.from({ length: Math.min(jobs, todo.length) }, async () => {
    for (let i = nextRun++; i < todo.length; i = nextRun++) runs[i] = await runOne(todo[i]!.model, todo[i]!.seed);
  }),
);

console.error("\n== floors");
const ds = readFolder(data);
const split = leaveOneOut(ds);
const floors = [
  floorRow("floor: user's training click rate", userClickRate(ds, split), split),
  floorRow("floor: logistic regression on the fields", logisticOnFields(ds, split, { seed: seeds[0] }), split),
  floorRow("floor: logistic regression, fields + user bias", logisticOnFields(ds, split, { seed: seeds[0], userBias: true }), split),
];
const rows = [...modelRows(runs), ...floors];

const protocol = {
  data,
  rounds,
  seeds,
  models,
  workers,
  jobs,
  args: Object.fromEntries(modelArgs),
  cpus: cpus().length,
  node: process.version,
  started: started.toISOString(),
  finished: new Date().toISOString(),
  command: `node dist/bench/experiment.js ${process.argv.slice(2).join(" ")}`.trim(),
};
const md = `# Experiment: ${models.join(", ")} on ${data}

${rounds} rounds, seeds ${seeds.join(",")}, ${workers} workers on ${protocol.cpus} cores (node ${protocol.node}), ${protocol.started} – ${protocol.finished}${jobs > 1 ? `, ${jobs} runs at once (s/round inflated by sharing)` : ""}.
${[...modelArgs].filter(([, args]) => args.length > 0).map(([m, args]) => `Options of ${m}: \`${args.join(" ")}\`.`).join("\n")}
Test figures at the round of best validation AUC (METHOD.md); a model's row pools its seeds (CI: per-seed
bootstrap intervals, ${BOOTSTRAP} resamples, averaged). s/round: median wall time of a round (training +
evaluation). Peak RSS: the training process's maxRSS, worker threads included. Floors are computed on the
same split, without rounds.

${markdownTable(rows)}

Command: \`${protocol.command}\`
`;
mkdirSync(dirname(mdPath), { recursive: true });
writeFileAtomic(mdPath, md);
writeFileAtomic(jsonPath, JSON.stringify({ protocol, rows, runs }, null, 2) + "\n");
console.log(md);
console.error(`wrote ${mdPath}\nwrote ${jsonPath}`);
