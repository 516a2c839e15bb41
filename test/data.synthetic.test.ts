// The synthetic default data: reproducible, round-trips through the folder format, and carries a
// group structure that is there to be found (a predictor that knows the groups beats one that does not).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDataset, generateSynthetic, leaveOneOut, readFolder, SYNTHETIC_DEFAULTS, syntheticDataset, writeFolder, type Dataset } from "../src/data/index.js";
import { auc } from "../src/metrics/index.js";

const ARRAYS = ["userIds", "itemIds", "userFeatures", "itemFeatures", "seqStart", "seqItems", "seqLabels", "seqTimes"] as const;

function same(a: Dataset, b: Dataset): boolean {
  return ARRAYS.every((k) => a[k].length === b[k].length && a[k].every((v, i) => v === b[k][i]));
}

const tmp = mkdtempSync(join(tmpdir(), "fedfacet-synthetic-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test("the default has KuaiSAR-R's shape: every user kept, 4 user fields, 6 item fields, padding 0", () => {
  const ds = syntheticDataset();
  assert.is(ds.numUsers, SYNTHETIC_DEFAULTS.users);
  assert.is(ds.numItems, SYNTHETIC_DEFAULTS.items);
  assert.equal(ds.userFields.map((f) => f.cardinality), SYNTHETIC_DEFAULTS.userFieldSizes.map((n) => n + 1));
  assert.is(ds.itemFields.length, 6);
  assert.ok(ds.itemFeatures.subarray(0, 6).every((c) => c === 0));
  assert.ok(ds.itemFeatures.subarray(6).every((c) => c >= 1));
  assert.is(ds.report.shortUsers + ds.report.idleUsers, 0);
  const clickRate = ds.seqLabels.reduce((n, y) => n + y, 0) / ds.seqLabels.length;
  assert.ok(clickRate > 0.3 && clickRate < 0.7, `click rate ${clickRate}`);
  // Ties in time exist, so the stable sort is exercised.
  let ties = 0;
  for (let p = 1; p < ds.seqTimes.length; p++) if (ds.seqTimes[p] === ds.seqTimes[p - 1]) ties++;
  assert.ok(ties > 0.1 * ds.seqTimes.length, `${ties} ties`);
});

test("same seed, same data; another seed, other data", () => {
  const small = { users: 50, items: 80 };
  assert.ok(same(syntheticDataset({ ...small, seed: 3 }), syntheticDataset({ ...small, seed: 3 })));
  assert.not.ok(same(syntheticDataset({ ...small, seed: 3 }), syntheticDataset({ ...small, seed: 4 })));
});

test("written as a folder, it reads back as the same dataset; the write is all or nothing", () => {
  const { raw } = generateSynthetic({ users: 40, items: 60, seed: 9 });
  const dir = join(tmp, "folder");
  writeFolder(dir, raw, "synthetic");
  assert.ok(same(readFolder(dir), buildDataset(raw)));
  assert.is(statSync(dir).mode & 0o777, 0o755);
  assert.throws(() => writeFolder(dir, raw, "synthetic"), /already exists/);
  assert.throws(() => writeFolder(join(tmp, "no-parent", "folder"), raw, "synthetic"));
  assert.equal(readdirSync(tmp), ["folder"]); // no temporary folder left behind
  assert.not.ok(existsSync(join(tmp, "no-parent")));
});

test("options are checked", () => {
  assert.throws(() => syntheticDataset({ minHistory: 2 }), /minHistory/);
  assert.throws(() => syntheticDataset({ users: 0 }), /users must be a positive integer/);
  assert.throws(() => syntheticDataset({ itemFieldSizes: [] }), /at least one/);
  assert.throws(() => syntheticDataset({ groupReveal: 1.5 }), /probability/);
});

test("the planted groups matter: knowing them predicts clicks clearly better than not", () => {
  const { raw, truth } = generateSynthetic();
  const ds = buildDataset(raw);
  const split = leaveOneOut(ds);
  const heldOut = (score: (u: number, i: number) => number): number => {
    const s: number[] = [];
    const y: number[] = [];
    for (let u = 0; u < ds.numUsers; u++) {
      s.push(score(u, split.validItem[u]), score(u, split.testItem[u]));
      y.push(split.validLabel[u], split.testLabel[u]);
    }
    return auc(s, y);
  };
  // The generating log-odds themselves.
  const oracle = heldOut(truth.logit);
  const blindOracle = heldOut(truth.blindLogit);
  assert.ok(oracle - blindOracle > 0.15, `oracle ${oracle} vs group-blind oracle ${blindOracle}`);
  // And from the training data alone: smoothed click log-odds per (field, value), per group or pooled.
  const learned = heldOut(countModel(ds, split.trainLength, truth.group));
  const learnedBlind = heldOut(countModel(ds, split.trainLength, new Int32Array(ds.numUsers)));
  assert.ok(learned - learnedBlind > 0.05, `with groups ${learned} vs without ${learnedBlind}`);
  // User field 0 reveals the group for most users (groupReveal = 0.75, plus chance agreement).
  let shown = 0;
  for (let u = 0; u < ds.numUsers; u++) if (ds.userFields[0].values[ds.userFeatures[u * 4] - 1] === truth.group[u]) shown++;
  assert.ok(shown / ds.numUsers > 0.7, `field 0 shows the group for ${shown} of ${ds.numUsers}`);
});

/** Score = user's click log-odds + Σ_f log-odds of clicks on the item's value of f among users of its group. */
function countModel(ds: Dataset, trainLength: Int32Array, group: Int32Array): (u: number, i: number) => number {
  const F = ds.itemFields.length;
  const groups = Math.max(...group) + 1;
  const clicks = ds.itemFields.map((f) => new Float64Array(groups * f.cardinality));
  const shows = ds.itemFields.map((f) => new Float64Array(groups * f.cardinality));
  const propensity = new Float64Array(ds.numUsers);
  const slot = (f: number, g: number, i: number) => g * ds.itemFields[f].cardinality + ds.itemFeatures[i * F + f];
  for (let u = 0; u < ds.numUsers; u++) {
    let c = 0;
    for (let p = ds.seqStart[u]; p < ds.seqStart[u] + trainLength[u]; p++) {
      c += ds.seqLabels[p];
      for (let f = 0; f < F; f++) {
        clicks[f][slot(f, group[u], ds.seqItems[p])] += ds.seqLabels[p];
        shows[f][slot(f, group[u], ds.seqItems[p])]++;
      }
    }
    propensity[u] = Math.log((c + 1) / (trainLength[u] - c + 1));
  }
  return (u, i) => {
    let z = propensity[u];
    for (let f = 0; f < F; f++) {
      const k = slot(f, group[u], i);
      z += Math.log((clicks[f][k] + 2) / (shows[f][k] - clicks[f][k] + 2));
    }
    return z;
  };
}

test.run();
