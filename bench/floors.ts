// The floors of the experiment (METHOD.md: "popularity / logistic regression on the fields"): scores
// that need no sequence model, computed on the same leave-one-out split, so that a model's AUC means
// something only where it clears them. Not models of the engine: each is a few loops over the data.
import type { Dataset } from "../src/data/dataset.js";
import type { LeaveOneOut } from "../src/data/split.js";
import type { Scores } from "../src/federated/evaluate.js";
import { auc } from "../src/metrics/auc.js";
import { Rng } from "../src/util/rng.js";

/**
 * The user's own click rate over the impressions before the one predicted: its training impressions
 * for the validation target, those and the validation impression for the test target (the history
 * the models' test windows see too). Shrunk by one pseudo-impression at the pooled training rate, so
 * that a user who clicked all (or none) of few impressions gets a finite LogLoss; the ranking barely
 * moves (test AUC on KuaiSAR-R 0.6906 shrunk, 0.6907 raw).
 */
export function userClickRate(ds: Dataset, split: LeaveOneOut): Scores {
  const n = ds.numUsers;
  const clicks = new Float64Array(n);
  let pooledClicks = 0;
  let pooledRows = 0;
  for (let u = 0; u < n; u++) {
    for (let j = ds.seqStart[u]; j < ds.seqStart[u] + split.trainLength[u]; j++) clicks[u] += ds.seqLabels[j];
    pooledClicks += clicks[u];
    pooledRows += split.trainLength[u];
  }
  const prior = pooledClicks / pooledRows;
  return {
    valid: Float64Array.from(clicks, (c, u) => (c + prior) / (split.trainLength[u] + 1)),
    test: Float64Array.from(clicks, (c, u) => (c + split.validLabel[u] + prior) / (split.trainLength[u] + 2)),
  };
}

export interface LogisticOptions {
  /** Also learn one bias per user (its click propensity), besides the field weights. */
  userBias: boolean;
  epochs: number;
  /** Adagrad's step size. */
  lr: number;
  /** L2 penalty per weight, applied on every update that touches it. */
  l2: number;
  seed: number;
}

export const LOGISTIC_DEFAULTS: LogisticOptions = { userBias: false, epochs: 8, lr: 0.05, l2: 1e-5, seed: 1 };

/**
 * Logistic regression on one-hot user fields + the target item's fields (+ a user bias), trained by
 * Adagrad on every training impression, in a shuffled order drawn from `seed`. Returns the scores of
 * the epoch of best validation AUC: the same protocol the models are reported under.
 */
export function logisticOnFields(ds: Dataset, split: LeaveOneOut, options: Partial<LogisticOptions> = {}): Scores {
  const o = { ...LOGISTIC_DEFAULTS, ...options };
  const userRows = ds.userFields.reduce((s, f) => s + f.cardinality, 0);
  const itemRows = ds.itemFields.reduce((s, f) => s + f.cardinality, 0);
  const weights = new Float64Array(1 + userRows + itemRows + (o.userBias ? ds.numUsers : 0));
  const g2 = new Float64Array(weights.length).fill(1e-8);
  const U = ds.userFields.length;
  const I = ds.itemFields.length;
  const active = new Int32Array(1 + U + I + 1);
  /** Fills `active` with the weight indices of (user u, item) and returns how many there are. */
  const features = (u: number, item: number): number => {
    let k = 0;
    active[k++] = 0;
    ds.userFields.forEach((f, j) => (active[k++] = 1 + f.offset + ds.userFeatures[u * U + j]));
    ds.itemFields.forEach((f, j) => (active[k++] = 1 + userRows + f.offset + ds.itemFeatures[item * I + j]));
    if (o.userBias) active[k++] = 1 + userRows + itemRows + u;
    return k;
  };
  const predict = (u: number, item: number): number => {
    const k = features(u, item);
    let z = 0;
    for (let a = 0; a < k; a++) z += weights[active[a]];
    return 1 / (1 + Math.exp(-z));
  };
  const score = (items: Int32Array): Float64Array => Float64Array.from(items, (item, u) => predict(u, item));

  const rowUser: number[] = [];
  const rowAt: number[] = [];
  for (let u = 0; u < ds.numUsers; u++) {
    for (let j = ds.seqStart[u]; j < ds.seqStart[u] + split.trainLength[u]; j++) {
      rowUser.push(u);
      rowAt.push(j);
    }
  }
  const order = Int32Array.from(rowUser, (_, r) => r);
  const rng = new Rng(o.seed);
  let best: Scores | null = null;
  let bestAuc = -Infinity;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let r = order.length - 1; r > 0; r--) {
      const s = rng.int(r + 1);
      [order[r], order[s]] = [order[s], order[r]];
    }
    for (const r of order) {
      const u = rowUser[r];
      const at = rowAt[r];
      const p = predict(u, ds.seqItems[at]);
      const err = p - ds.seqLabels[at];
      const k = features(u, ds.seqItems[at]);
      for (let a = 0; a < k; a++) {
        const w = active[a];
        const grad = err + o.l2 * weights[w];
        g2[w] += grad * grad;
        weights[w] -= (o.lr * grad) / Math.sqrt(g2[w]);
      }
    }
    const valid = score(split.validItem);
    const v = auc(valid, split.validLabel);
    if (v > bestAuc) {
      bestAuc = v;
      best = { valid, test: score(split.testItem) };
    }
  }
  if (best === null) throw new RangeError("logisticOnFields: epochs must be at least 1");
  return best;
}
