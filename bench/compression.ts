// Uplink compression on KuaiSAR-R (issue 4, "Compression, measured"): the paper protocol (every
// client every round, test AUC at the best validation round) once per compression setting, each
// in its own `fedfacet train` child process, and a table of bytes up/down per round against test
// AUC, relative to raw f32 updates (the first setting).
//
//   node dist/bench/compression.js [--data DIR] [--rounds N] [--seed S] [--workers W]
//        [--settings f32,int8,topk-int8:0.05,...] [--out FILE.md] [--keep-checkpoints]
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { INTERACTIONS_FILE } from "../src/data/folder.js";
import { COMPRESSIONS } from "../src/federated/config.js";
import { CHECKPOINT_FILE, type TrainReport } from "../src/federated/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { median } from "./experiment-table.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");

const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: join(ROOT, "../shared/data/kuaisar-r") },
    rounds: { type: "string", default: "20" },
    seed: { type: "string", default: "1" },
    workers: { type: "string", default: "2" },
    settings: { type: "string", default: "f32,int8,topk-int8:0.01,topk-int8:0.05,topk-int8:0.1,topk:0.05" },
    out: { type: "string", default: join(ROOT, "bench/results/compression-kuaisar-r.md") },
    "keep-checkpoints": { type: "boolean", default: false },
  },
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
const out = resolve(a.out!);
// the runs' folders stay out of the repository (out/ is ignored)
const runsDir = join(ROOT, "out/compression");

interface Run {
  setting: string;
  bytes_up: number;
  bytes_down: number;
  best_round: number;
  val_auc: number;
  test_auc: number;
  test_auc_ci: [number, number];
  test_logloss: number;
  seconds_per_round: number;
  peak_rss_mb: number;
}

async function runOne(s: Setting): Promise<Run> {
  const dir = join(runsDir, s.label.replace(/[^a-z0-9.-]+/gi, "_"));
  const args = [...process.execArgv, CLI, "train", "--data", data, "--rounds", a.rounds!, "--seed", a.seed!, "--workers", a.workers!, "--out", dir, "--force", ...s.args];
  console.error(`\n== ${s.label}: node ${args.slice(process.execArgv.length).join(" ")}`);
  const code = await new Promise<number | null>((ok, ko) => spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] }).on("error", ko).on("exit", ok));
  if (code !== 0) throw new Error(`${s.label}: 'fedfacet train' exited with code ${code}`);
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as TrainReport;
  // the residuals make compressed runs' checkpoints ~0.5 GB each on KuaiSAR-R
  if (!a["keep-checkpoints"]) rmSync(join(dir, CHECKPOINT_FILE), { force: true });
  if (r.best === null) throw new Error(`${s.label}: the report has no evaluated round`);
  const perRound = (k: "bytes_up" | "bytes_down") => r.rounds.reduce((t, row) => t + row[k]!, 0) / r.rounds.length;
  return {
    setting: s.label,
    bytes_up: perRound("bytes_up"),
    bytes_down: perRound("bytes_down"),
    best_round: r.best.round,
    val_auc: r.best.val_auc,
    test_auc: r.best.test_auc,
    test_auc_ci: r.best.test_auc_ci,
    test_logloss: r.best.test_logloss,
    seconds_per_round: median(r.rounds.map((row) => row.seconds)),
    peak_rss_mb: r.peak_rss_mb,
  };
}

const started = new Date();
const runs: Run[] = [];
for (const s of settings) runs.push(await runOne(s));

const mb = (b: number) => (b / 1e6).toFixed(2);
const ref = runs[0]!;
const table = [
  "| setting | MB up / round | up vs f32 | MB down / round | best round | val AUC | test AUC | Δ test AUC vs f32 | test AUC 95% CI | test LogLoss | s/round | peak RSS MiB |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
  ...runs.map(
    (r) =>
      `| ${r.setting} | ${mb(r.bytes_up)} | ${(ref.bytes_up / r.bytes_up).toFixed(1)}× smaller | ${mb(r.bytes_down)} | ${r.best_round} | ${r.val_auc.toFixed(4)} | ${r.test_auc.toFixed(4)} | ${(r.test_auc - ref.test_auc >= 0 ? "+" : "") + (r.test_auc - ref.test_auc).toFixed(4)} | ${r.test_auc_ci[0].toFixed(3)}–${r.test_auc_ci[1].toFixed(3)} | ${r.test_logloss.toFixed(4)} | ${r.seconds_per_round.toFixed(1)} | ${r.peak_rss_mb} |`,
  ),
].join("\n");
const command = `node dist/bench/compression.js ${process.argv.slice(2).join(" ")}`.trim();
const md = `# Uplink compression: ${data}

MRFF, reference settings, every client every round, ${a.rounds} rounds, seed ${a.seed}, ${a.workers} workers on ${cpus().length} shared cores
(node ${process.version}), ${started.toISOString()} – ${new Date().toISOString()}.
Each client's update (delta of the shared partition and of its chosen expert per block, routes, [samples, loss])
goes through the wire format (src/federated/wire) with the setting's encoding and the client's error feedback;
f32 sums the trained values directly and counts the raw f32 frame's bytes. "MB up": all update frames of a
round (mean over rounds); "MB down": the task frames (the round's shared + group values, sent uncompressed),
one per participant. Test figures at the round of best validation AUC; top-k k is a fraction of each partition;
int8 blocks of 128 values. s/round: median wall time of a round on a machine shared with other jobs.

${table}

Command: \`${command}\`
`;
mkdirSync(dirname(out), { recursive: true });
writeFileAtomic(out, md);
writeFileAtomic(out.replace(/\.md$/, "") + ".json", JSON.stringify({ command, started: started.toISOString(), runs }, null, 2) + "\n");
console.log(md);
console.error(`wrote ${out}`);
