// bench/paired.ts: the rows (per seed and pooled) from runs' predictions, the checks that runs pair
// (same users, labels, seed order), and the command line (usage on a bad option, a table from run folders).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPairable, pairedMarkdown, pairedRows, type ModelRuns, type RunScores } from "../bench/paired-table.js";
import { writePredictions } from "../src/federated/predictions-file.js";
import { auc } from "../src/metrics/auc.js";
import { pairedBootstrapAuc } from "../src/metrics/paired-bootstrap.js";
import { Rng } from "../src/util/rng.js";

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), "../bench/paired.js");
const N = 120;
const rng = new Rng(4);
const users = Array.from({ length: N }, (_, i) => 1000 + 3 * i);
const labels = Array.from({ length: N }, (_, i) => (i < 4 ? i % 2 : rng.int(2)));
/** A model whose scores follow the label with weight `w`, per seed. */
const model = (name: string, w: number, seeds: number[]): ModelRuns => ({
  name,
  runs: seeds.map((seed): RunScores => ({ source: `${name}-${seed}`, seed, users, labels, scores: labels.map((y) => w * y + rng.next()) })),
});

test("a row per seed (the paired bootstrap of that seed) and a pooled row (the means)", () => {
  const ref = model("ref", 0.6, [1, 2, 3]);
  const other = model("other", 0.3, [1, 2, 3]);
  const rows = pairedRows(ref, [other], 200, 7);
  assert.equal(rows.map((r) => r.scope), ["seed 1", "seed 2", "seed 3", "pooled (3 seeds)"]);
  rows.slice(0, 3).forEach((r, k) => {
    const d = pairedBootstrapAuc(labels, ref.runs[k]!.scores, other.runs[k]!.scores, new Rng(7), { resamples: 200 });
    assert.equal([r.diff, r.lo, r.hi, r.atMostZero], [d.diff, d.lo, d.hi, d.atMostZero]);
    assert.is(r.refAuc, auc(ref.runs[k]!.scores, labels));
  });
  const pooled = rows[3]!;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(pooled.diff - mean(rows.slice(0, 3).map((r) => r.diff))) < 1e-12);
  assert.ok(Math.abs(pooled.refAuc - pooled.otherAuc - pooled.diff) < 1e-12);
  assert.ok(pooled.lo <= pooled.diff && pooled.diff <= pooled.hi);
  const md = pairedMarkdown("ref", rows);
  assert.is(md.trim().split("\n").length, 2 + rows.length);
  assert.match(md, /\| other \| pooled \(3 seeds\) \|/);
});

test("runs that do not pair are refused with the reason", () => {
  const ref = model("ref", 0.5, [1, 2]);
  const cases: [ModelRuns, RegExp][] = [
    [model("short", 0.5, [1]), /short has 1 runs but the reference ref has 2/],
    [model("order", 0.5, [2, 1]), /run 1: ref has seed 1 but order seed 2/],
    [{ name: "users", runs: model("x", 0.5, [1, 2]).runs.map((r) => ({ ...r, users: users.map((u, i) => (i === 5 ? u + 1 : u)) })) }, /x-1: user 5 is 1016 but 1015 in ref-1/],
    [{ name: "labels", runs: model("y", 0.5, [1, 2]).runs.map((r) => ({ ...r, labels: labels.map((l, i) => (i === 9 ? 1 - l : l)) })) }, /y-1: user 1027's test label is/],
    [{ name: "fewer", runs: model("z", 0.5, [1, 2]).runs.map((r) => ({ ...r, users: users.slice(1) })) }, /z-1: 119 users but ref-1 has 120/],
  ];
  for (const [other, message] of cases) assert.throws(() => checkPairable(ref, [other]), message);
});

test("command line: a bad option prints the usage (exit 2); run folders give the table", () => {
  const bad = spawnSync(process.execPath, [SCRIPT, "--bogus"], { encoding: "utf8" });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /dist\/bench\/paired.js: Unknown option '--bogus'\nusage: node --experimental-wasm-relaxed-simd dist\/bench\/paired.js \[options\]\n  --runs VALUE/);
  assert.not.match(bad.stderr, /    at /);
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-paired-"));
  try {
    const runs = [model("a", 0.6, [1, 2]), model("b", 0.3, [1, 2])].map((m) =>
      m.runs.map((r) => {
        const out = join(dir, r.source);
        mkdirSync(out);
        const col = { label: labels, score: Array.from(r.scores) };
        writePredictions(out, { format: 1, round: 3, users, valid: col, test: col });
        return out;
      }),
    );
    const ok = spawnSync(process.execPath, [SCRIPT, "--runs", `a=${runs[0]!.join(",")}`, "--runs", `b=${runs[1]!.join(",")}`, "--resamples", "50"], { encoding: "utf8" });
    assert.is(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^\| a − \| runs \|/);
    assert.is(ok.stdout.trim().split("\n").length, 2 + 3, "two runs and the pooled row");
    const unpaired = spawnSync(process.execPath, [SCRIPT, "--runs", `a=${runs[0]!.join(",")}`, "--runs", `b=${runs[1]![0]}`], { encoding: "utf8" });
    assert.is(unpaired.status, 1);
    assert.match(unpaired.stderr, /^paired: b has 1 runs but the reference a has 2/);
    writeFileSync(join(runs[1]![1]!, "report.json"), JSON.stringify({ config: { seed: 2 }, best: { round: 4 } }));
    const stale = spawnSync(process.execPath, [SCRIPT, "--runs", `a=${runs[0]!.join(",")}`, "--runs", `b=${runs[1]!.join(",")}`], { encoding: "utf8" });
    assert.is(stale.status, 1);
    assert.match(stale.stderr, /b-2: predictions.json is of round 3 but report.json's best round is 4/);
    const missing = spawnSync(process.execPath, [SCRIPT, "--runs", `a=${runs[0]![0]}`, "--runs", `b=${dir}`], { encoding: "utf8" });
    assert.is(missing.status, 1);
    assert.match(missing.stderr, /predictions.json: no such file/);
    const ref = spawnSync(process.execPath, [SCRIPT, "--runs", `a=${runs[0]![0]}`, "--reference", "c"], { encoding: "utf8" });
    assert.is(ref.status, 2);
    assert.match(ref.stderr, /--reference: 'c' is not one of the --runs names \(a\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
