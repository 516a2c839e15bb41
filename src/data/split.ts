// METHOD.md's leave-one-out split and the fixed-length windows the model consumes. For each user the
// time-sorted impressions are [train ..., validation target, test target]; a window predicting the
// target at position `last` holds the (up to) maxlen impressions before it, left-padded, and slot t's
// target is the impression after slot t's input, so one window shape serves training (every real
// slot predicts its successor) and evaluation (only the final slot counts).
import type { Dataset } from "./dataset.js";

export type Phase = "train" | "valid" | "test";

export interface LeaveOneOut {
  /** User u trains on the first trainLength[u] impressions of its sequence (its length − 2). */
  trainLength: Int32Array;
  /** The second-to-last impression of each user. */
  validItem: Int32Array;
  validLabel: Uint8Array;
  /** The last impression of each user. */
  testItem: Int32Array;
  testLabel: Uint8Array;
}

export function leaveOneOut(ds: Dataset): LeaveOneOut {
  const n = ds.numUsers;
  const split: LeaveOneOut = {
    trainLength: new Int32Array(n),
    validItem: new Int32Array(n),
    validLabel: new Uint8Array(n),
    testItem: new Int32Array(n),
    testLabel: new Uint8Array(n),
  };
  for (let u = 0; u < n; u++) {
    const end = ds.seqStart[u + 1];
    // buildDataset keeps only users with at least MIN_INTERACTIONS (3) impressions.
    split.trainLength[u] = end - ds.seqStart[u] - 2;
    split.validItem[u] = ds.seqItems[end - 2];
    split.validLabel[u] = ds.seqLabels[end - 2];
    split.testItem[u] = ds.seqItems[end - 1];
    split.testLabel[u] = ds.seqLabels[end - 1];
  }
  return split;
}

/** Position, in user u's sequence, of the last target a window of this phase predicts. */
export function lastTarget(split: LeaveOneOut, u: number, phase: Phase): number {
  const train = split.trainLength[u];
  return phase === "train" ? train - 1 : phase === "valid" ? train : train + 1;
}

/** A batch of windows, each array batch × maxlen, row-major. Index 0 / value 0 means padding. */
export interface Windows {
  batch: number;
  maxlen: number;
  /** Input item of each slot. */
  items: Int32Array;
  /** Whether the input item was clicked (0 at padding). Under causal attention slot t sees only inputs ≤ t, so this never reveals a target. */
  clicks: Float32Array;
  /** 1 at real slots, 0 at padding (the attention kernels' mask). */
  mask: Float32Array;
  /** Item whose click slot t predicts: the impression after slot t's input. */
  targets: Int32Array;
  /** Click label of the target. */
  labels: Float32Array;
  /** 1 where the prediction counts (loss or metric), else 0. */
  weights: Float32Array;
}

export function allocWindows(batch: number, maxlen: number): Windows {
  if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(maxlen) && maxlen >= 1)) {
    throw new RangeError(`allocWindows: batch and maxlen must be positive integers, got ${batch}, ${maxlen}`);
  }
  const n = batch * maxlen;
  return {
    batch,
    maxlen,
    items: new Int32Array(n),
    clicks: new Float32Array(n),
    mask: new Float32Array(n),
    targets: new Int32Array(n),
    labels: new Float32Array(n),
    weights: new Float32Array(n),
  };
}

/**
 * Writes into row `row` of w user u's window whose final slot predicts the impression at position
 * `last` of its sequence: inputs are positions max(0, last − maxlen) .. last − 1, right-aligned.
 * `weigh` "all" counts every real slot (training), "last" only the final one (evaluation).
 */
export function fillWindow(ds: Dataset, u: number, last: number, w: Windows, row: number, weigh: "all" | "last"): void {
  const start = ds.seqStart[u];
  const length = ds.seqStart[u + 1] - start;
  if (!(Number.isInteger(last) && last >= 0 && last < length)) throw new RangeError(`fillWindow: user ${u} has ${length} impressions, no position ${last}`);
  if (!(Number.isInteger(row) && row >= 0 && row < w.batch)) throw new RangeError(`fillWindow: row ${row} outside a batch of ${w.batch}`);
  const T = w.maxlen;
  const count = Math.min(last, T);
  const base = row * T;
  const pad = T - count;
  for (const a of [w.items, w.clicks, w.mask, w.targets, w.labels, w.weights]) a.fill(0, base, base + pad);
  const first = start + last - count;
  for (let j = 0; j < count; j++) {
    const p = first + j;
    const s = base + pad + j;
    w.items[s] = ds.seqItems[p];
    w.clicks[s] = ds.seqLabels[p];
    w.mask[s] = 1;
    w.targets[s] = ds.seqItems[p + 1];
    w.labels[s] = ds.seqLabels[p + 1];
    w.weights[s] = weigh === "all" || j === count - 1 ? 1 : 0;
  }
}

/** fillWindow for a phase of the split: training windows weigh every slot, evaluation only the target. */
export function fillPhaseWindow(ds: Dataset, split: LeaveOneOut, u: number, phase: Phase, w: Windows, row: number): void {
  fillWindow(ds, u, lastTarget(split, u, phase), w, row, phase === "train" ? "all" : "last");
}
