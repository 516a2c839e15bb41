// ROC AUC by ranks (the Mann-Whitney U statistic): sort once, O(n log n); tied scores share their
// average rank, which counts a positive-negative tie as half a correctly ordered pair.
import { checkPairs } from "./check.js";

/** Scores sorted once, so that AUC over any reweighting (a bootstrap resample) is one O(n) pass. */
export interface Ranking {
  /** Indices in ascending score order. */
  order: Int32Array;
  /** groupEnd[k] is one past the last position (in order) of the tie group that position k belongs to. */
  groupEnd: Int32Array;
}

export function rank(scores: ArrayLike<number>): Ranking {
  const n = scores.length;
  const s = Float64Array.from(scores);
  for (let i = 0; i < n; i++) if (Number.isNaN(s[i])) throw new RangeError(`AUC: score ${i} is NaN`);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[a] - s[b] || a - b);
  const groupEnd = new Int32Array(n);
  for (let end = n; end > 0; ) {
    let start = end - 1;
    while (start > 0 && s[order[start - 1]] === s[order[end - 1]]) start--;
    groupEnd.fill(end, start, end);
    end = start;
  }
  return { order, groupEnd };
}

/**
 * AUC of a ranking where item i counts weight[i] times (all 1 when weights is omitted):
 * (Σ over positives of average rank − P(P+1)/2) / (P·N). NaN when P or N is 0.
 */
export function aucOfRanking(r: Ranking, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const { order, groupEnd } = r;
  let below = 0;
  let positives = 0;
  let positiveRankSum = 0;
  for (let k = 0; k < order.length; ) {
    const end = groupEnd[k];
    let size = 0;
    let pos = 0;
    for (; k < end; k++) {
      const i = order[k];
      const w = weights ? weights[i] : 1;
      size += w;
      pos += w * labels[i];
    }
    positiveRankSum += pos * (below + (size + 1) / 2);
    positives += pos;
    below += size;
  }
  const negatives = below - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Area under the ROC curve of scores (higher = more likely positive) against 0/1 labels.
 * Throws on empty input, unequal lengths, a label other than 0/1 or a NaN score. Returns NaN when
 * all labels are equal: AUC is undefined without both classes.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPairs("auc", scores, labels);
  return aucOfRanking(rank(scores), labels);
}
