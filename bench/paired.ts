// Paired comparison of finished runs: for each seed, test AUC of the reference model minus each
// other model over the same test users (resampled together), and pooled over seeds. Reads each
// run folder's predictions.json (written by `fedfacet train`).
//
//   node dist/bench/paired.js --runs NAME=DIR[,DIR...] --runs ... [--reference NAME]
//        [--floors DATA_DIR] [--resamples N] [--seed S] [--out FILE.md]
//
// --runs: a model's run folders (each with predictions.json), one per seed, repeated per model;
// --reference: the model the others are subtracted from (default: the first --runs); --floors DIR:
// also compare against logistic regression on the fields + user bias on that data set;
// --resamples: bootstrap resamples (1000); --seed: seed of the bootstrap draws (1); --out: also
// write the markdown table there.
// The folders of every name are paired by position: give them in the same seed order. --floors
// adds logistic regression on the fields + a user bias (bench/floors.ts) computed on the data set
// the runs were trained on, as one more model (the same scores paired with every seed's run).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { readFolder } from "../src/data/folder.js";
import { leaveOneOut } from "../src/data/split.js";
import { readPredictions } from "../src/federated/predictions-file.js";
import { REPORT_JSON, type TrainReport } from "../src/federated/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { benchArgs } from "./bench-args.js";
import { logisticOnFields } from "./floors.js";
import { pairedMarkdown, pairedRows, type ModelRuns, type RunScores } from "./paired-table.js";

function fail(msg: string): never {
  console.error(`paired: ${msg} (--help lists the options)`);
  process.exit(2);
}

const a = benchArgs({
  runs: { type: "string", multiple: true, default: [] },
  reference: { type: "string" },
  floors: { type: "string" },
  resamples: { type: "string", default: "1000" },
  seed: { type: "string", default: "1" },
  out: { type: "string" },
});
if (a.runs!.length === 0) fail("--runs is required (at least two models, or one and --floors)");
const resamples = Number(a.resamples);
if (!(Number.isInteger(resamples) && resamples >= 1)) fail(`--resamples must be a positive integer, got '${a.resamples}'`);
const seed = Number(a.seed);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got '${a.seed}'`);

/** One run folder's test targets, checked against its report: a stale predictions.json is refused. */
function runScores(dir: string): RunScores {
  const p = readPredictions(dir);
  const reportFile = join(dir, REPORT_JSON);
  let seedOf: number | null = null;
  if (existsSync(reportFile)) {
    const r = JSON.parse(readFileSync(reportFile, "utf8")) as TrainReport;
    if (r.best?.round !== p.round) throw new Error(`${dir}: predictions.json is of round ${p.round} but ${REPORT_JSON}'s best round is ${r.best?.round}`);
    seedOf = r.config.seed;
  }
  return { source: dir, seed: seedOf, users: p.users, labels: p.test.label, scores: p.test.score };
}

// a bad file or runs that do not pair (another data set, another seed order) end with the reason
try {
  const models: ModelRuns[] = a.runs!.map((spec) => {
    const eq = spec.indexOf("=");
    if (eq <= 0 || eq === spec.length - 1) fail(`--runs: '${spec}' is not NAME=DIR[,DIR...]`);
    const dirs = spec.slice(eq + 1).split(",").map((d) => resolve(d));
    for (const d of dirs) if (!existsSync(d)) fail(`--runs: '${d}' does not exist`);
    return { name: spec.slice(0, eq), runs: dirs.map(runScores) };
  });
  const names = models.map((m) => m.name);
  if (new Set(names).size !== names.length) fail(`--runs: a model name is given twice (${names.join(", ")})`);
  const refName = a.reference ?? names[0]!;
  const ref = models.find((m) => m.name === refName) ?? fail(`--reference: '${refName}' is not one of the --runs names (${names.join(", ")})`);
  const others = models.filter((m) => m !== ref);

  if (a.floors !== undefined) {
    const ds = readFolder(resolve(a.floors));
    const split = leaveOneOut(ds);
    // as bench/experiment.ts computes the floor for --seeds 1,...: one shuffle seed, whatever the runs'
    const s = logisticOnFields(ds, split, { seed: 1, userBias: true });
    const floor: RunScores = { source: `floor on ${a.floors}`, seed: null, users: ds.userIds, labels: split.testLabel, scores: s.test };
    others.push({ name: "LR fields + user bias", runs: ref.runs.map(() => floor) });
  }
  if (others.length === 0) fail("nothing to compare the reference with: give another --runs or --floors");

  const rows = pairedRows(ref, others, resamples, seed);
  const table = pairedMarkdown(ref.name, rows);
  process.stdout.write(table);
  if (a.out !== undefined) writeFileAtomic(resolve(a.out), table);
} catch (e) {
  console.error(`paired: ${(e as Error).message}`);
  process.exit(1);
}
