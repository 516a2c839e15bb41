// Uplink compression on KuaiSAR-R (issue 4, "Compression, measured"): the paper protocol (every
// client every round, test AUC at the best validation round) per compression setting and seed,
// each run in its own `fedfacet train` child process, and a table of bytes up/down per round
// against test AUC, relative to raw f32 updates (the first setting).
//
//   node dist/bench/compression.js [--data DIR] [--rounds N] [--seeds 1,2] [--workers W]
//        [--settings f32,int8,topk-int8:0.05,...] [--out FILE.md] [--keep-checkpoints] [--reuse]
//
// --reuse takes a (setting, seed) from its run folder when that run completed (to add settings or
// seeds to a table without training the others again).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { INTERACTIONS_FILE } from "../src/data/folder.js";
import { COMPRESSIONS } from "../src/federated/config.js";
import { CHECKPOINT_FILE, type TrainReport } from "../src/federated/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { median } from "./experiment-table.js";
import { benchArgs, KUAISAR_DEFAULT } from "./bench-args.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");

const a = benchArgs({
  data: { type: "string", default: KUAISAR_DEFAULT },
  rounds: { type: "string", default: "20" },
  seeds: { type: "string", default: "1" },
  workers: { type: "string", default: "2" },
  settings: { type: "string", default: "f32,int8,topk-int8:0.01,topk-int8:0.05,topk-int8:0.1,topk:0.05" },
  out: { type: "string", default: join(ROOT, "bench/results/compression-kuaisar-r.md") },
  "keep-checkpoints": { type: "boolean", default: false },
  reuse: { type: "boolean", default: false },
});

function fail(msg: string): never {
  console.error(`compression: ${msg}`);
  process.exit(2);
}

interface Setting {
  label: string;
  args: string[];
}

/** "kind" or "kind:k" (k: top-k fraction or count) as train options. */
function setting(s: string): Setting {
  const [kind, k] = s.split(":");
  if (!(COMPRESSIONS as readonly string[]).includes(kind!)) fail(`--settings: '${kind}' is not one of ${COMPRESSIONS.join(", ")}`);
  const topk = kind === "topk" || kind === "topk-int8";
  if (topk !== (k !== undefined)) fail(`--settings: '${s}': ${topk ? `${kind} needs :k` : `${kind} takes no :k`}`);
  return { label: topk ? `${kind} k=${Number(k) < 1 ? `${Number(k) * 100}%` : k}` : kind!, args: ["--compression", kind!, ...(topk ? ["--topk", k!] : [])] };
}

const data = resolve(a.data!);
if (!existsSync(join(data, INTERACTIONS_FILE))) fail(`no KuaiSAR-style data set at '${data}' (${INTERACTIONS_FILE} is missing): give one with --data DIR`);
const settings = a.settings!.split(",").map(setting);
if (settings[0]!.label !== "f32") fail("--settings must start with f32, the reference the others are compared to");
const seeds = a.seeds!.split(",").map(Number);
if (!seeds.every((x) => Number.isInteger(x) && x >= 0)) fail(`--seeds must be non-negative integers separated by commas, got '${a.seeds}'`);
const out = resolve(a.out!);
// the runs' folders stay out of the repository (out/ is ignored)
const runsDir = join(ROOT, "out/compression");

/** Rounds at the end whose test AUC is averaged: a figure less noisy than the best-validation round's. */
const LAST = 5;

interface Run {
  setting: string;
  seed: number;
  /** Taken from an earlier invocation's run folder (--reuse). */
  reused: boolean;
  bytes_up: number;
  bytes_down: number;
  best_round: number;
  val_auc: number;
  test_auc: number;
  test_auc_ci: [number, number];
  test_logloss: number;
  /** Mean test AUC of the last LAST rounds. */
  test_auc_last: number;
  seconds_per_round: number;
  peak_rss_mb: number;
}

function completed(dir: string): TrainReport | null {
  if (!existsSync(join(dir, "report.json"))) return null;
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as TrainReport;
  return r.completed && r.rounds.length === Number(a.rounds) ? r : null;
}

async function runOne(s: Setting, seed: number): Promise<Run> {
  const dir = join(runsDir, `${s.label.replace(/[^a-z0-9.-]+/gi, "_")}-seed${seed}`);
  let r = a.reuse ? completed(dir) : null;
  const trained = r === null;
  if (r) console.error(`\n== ${s.label}, seed ${seed}: reusing ${dir}`);
  else {
    const args = [...process.execArgv, CLI, "train", "--data", data, "--rounds", a.rounds!, "--seed", String(seed), "--workers", a.workers!, "--out", dir, "--force", ...s.args];
    console.error(`\n== ${s.label}, seed ${seed}: node ${args.slice(process.execArgv.length).join(" ")}`);
    const code = await new Promise<number | null>((ok, ko) => spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] }).on("error", ko).on("exit", ok));
    if (code !== 0) throw new Error(`${s.label}, seed ${seed}: 'fedfacet train' exited with code ${code}`);
    r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as TrainReport;
  }
  // the residuals make compressed runs' checkpoints ~0.5 GB each on KuaiSAR-R
  if (!a["keep-checkpoints"]) rmSync(join(dir, CHECKPOINT_FILE), { force: true });
  if (r.best === null) throw new Error(`${s.label}, seed ${seed}: the report has no evaluated round`);
  const last = r.rounds.slice(-LAST).map((row) => row.test_auc);
  if (last.some((v) => v === null)) throw new Error(`${s.label}, seed ${seed}: evaluate every round (one of the last ${LAST} was not)`);
  const perRound = (k: "bytes_up" | "bytes_down") => r.rounds.reduce((t, row) => t + row[k]!, 0) / r.rounds.length;
  return {
    setting: s.label,
    seed,
    reused: !trained,
    bytes_up: perRound("bytes_up"),
    bytes_down: perRound("bytes_down"),
    best_round: r.best.round,
    val_auc: r.best.val_auc,
    test_auc: r.best.test_auc,
    test_auc_ci: r.best.test_auc_ci,
    test_logloss: r.best.test_logloss,
    test_auc_last: last.reduce((t: number, v) => t + v!, 0) / last.length,
    seconds_per_round: median(r.rounds.map((row) => row.seconds)),
    peak_rss_mb: r.peak_rss_mb,
  };
}

const started = new Date();
const runs: Run[] = [];
for (const s of settings) for (const seed of seeds) runs.push(await runOne(s, seed));

/** One row per setting: its seeds' means (bytes are the same for every seed up to routing). */
const mean = (xs: number[]) => xs.reduce((t, v) => t + v, 0) / xs.length;
const rows = settings.map((s) => {
  const rs = runs.filter((r) => r.setting === s.label);
  const m = (k: "bytes_up" | "bytes_down" | "val_auc" | "test_auc" | "test_auc_last" | "test_logloss" | "seconds_per_round") => mean(rs.map((r) => r[k]));
  return {
    setting: s.label,
    bytes_up: m("bytes_up"),
    bytes_down: m("bytes_down"),
    best_rounds: rs.map((r) => r.best_round).join(","),
    val_auc: m("val_auc"),
    test_auc: m("test_auc"),
    test_auc_last: m("test_auc_last"),
    test_logloss: m("test_logloss"),
    seconds_per_round: m("seconds_per_round"),
    peak_rss_mb: Math.max(...rs.map((r) => r.peak_rss_mb)),
  };
});
const mb = (b: number) => (b / 1e6).toFixed(2);
const signed = (v: number) => (v >= 0 ? "+" : "") + v.toFixed(4);
const ref = rows[0]!;
const table = [
  `| setting | MB up / round | up vs f32 | MB down / round | best rounds | val AUC | test AUC | Δ vs f32 | test AUC, last ${LAST} rounds | Δ vs f32 | test LogLoss | s/round | peak RSS MiB |`,
  "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.setting} | ${mb(r.bytes_up)} | ${(ref.bytes_up / r.bytes_up).toFixed(1)}× smaller | ${mb(r.bytes_down)} | ${r.best_rounds} | ${r.val_auc.toFixed(4)} | ${r.test_auc.toFixed(4)} | ${signed(r.test_auc - ref.test_auc)} | ${r.test_auc_last.toFixed(4)} | ${signed(r.test_auc_last - ref.test_auc_last)} | ${r.test_logloss.toFixed(4)} | ${r.seconds_per_round.toFixed(1)} | ${r.peak_rss_mb} |`,
  ),
].join("\n");
const reused = runs.filter((r) => r.reused).length;
const reusedNote = reused > 0 ? ` (${reused} of the ${runs.length} runs were trained earlier and read back from their folders with --reuse)` : "";
const command = `node dist/bench/compression.js ${process.argv.slice(2).join(" ")}`.trim();
const md = `# Uplink compression: ${data}

MRFF, reference settings, every client every round, ${a.rounds} rounds, seeds ${seeds.join(",")} (a row: their means), ${a.workers} workers on ${cpus().length} shared cores
(node ${process.version}), ${started.toISOString()} – ${new Date().toISOString()}${reusedNote}.
Each client's update (delta of the shared partition and of its chosen expert per block, routes, [samples, loss])
goes through the wire format (src/federated/wire) with the setting's encoding and the client's error feedback;
f32 sums the trained values directly and counts the raw f32 frame's bytes. "MB up": all update frames of a
round (mean over rounds); "MB down": the task frames (the round's shared + group values, sent uncompressed),
one per participant. "test AUC": at the round of best validation AUC (the paper protocol); "last ${LAST} rounds": the
mean test AUC of rounds ${Number(a.rounds) - LAST + 1}–${a.rounds}, less sensitive to which round validation picks. top-k k is a fraction
of each partition; int8 blocks of 128 values. s/round: median wall time of a round (training and evaluation,
not the checkpoint, which holds every client's residual: 0.5 GB on KuaiSAR-R) on a machine shared with other jobs.

${table}

Command: \`${command}\`
`;
mkdirSync(dirname(out), { recursive: true });
writeFileAtomic(out, md);
writeFileAtomic(out.replace(/\.md$/, "") + ".json", JSON.stringify({ command, started: started.toISOString(), rows, runs }, null, 2) + "\n");
console.log(md);
console.error(`wrote ${out}`);
