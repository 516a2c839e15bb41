// Paired bootstrap of an AUC difference. Two models scored on the same users share the test
// sample's luck: a user whose label is hard to predict is hard for both. Resampling the users once
// per resample and scoring both models on that resample cancels that shared part, so the interval
// of the difference is much narrower than what the two separate intervals suggest.
import type { Rng } from "../util/rng.js";
import { aucOfRanking, rank, type Ranking } from "./auc.js";
import { quantile, resampleUsers, resampling, type BootstrapOptions } from "./bootstrap.js";

/** The two models' scores of the same users, in the same order as the labels. */
export interface ScorePair {
  a: ArrayLike<number>;
  b: ArrayLike<number>;
}

export interface AucDifference {
  /** Mean over the pairs of AUC(a) − AUC(b) on the data itself. */
  diff: number;
  /** Percentile interval [lo, hi] of the resampled differences. */
  lo: number;
  hi: number;
  level: number;
  resamples: number;
  /** Resamples that drew a single class (no AUC), left out of the percentiles and the fraction. */
  degenerate: number;
  /**
   * Fraction of the resamples whose difference is ≤ 0: a one-sided bootstrap p-value for "a ranks
   * better than b" (small when a is reliably better).
   */
  atMostZero: number;
}

/**
 * AUC(scoresA) − AUC(scoresB) over the same users, with its percentile interval from resampling the
 * users (both models together) with replacement; draws from `rng` only.
 */
export function pairedBootstrapAuc(labels: ArrayLike<number>, scoresA: ArrayLike<number>, scoresB: ArrayLike<number>, rng: Rng, options: BootstrapOptions = {}): AucDifference {
  return pooledPairedBootstrapAuc(labels, [{ a: scoresA, b: scoresB }], rng, options);
}

/**
 * The mean over several pairs (one per training seed) of AUC(a) − AUC(b), all on the same users
 * and labels. Each resample draws the users once and applies that draw to every pair: the seeds
 * share one test set, so averaging them cancels training noise but not the test sample's, and
 * resampling each seed independently would understate the interval as if the seeds had their own
 * test users. With one pair this is pairedBootstrapAuc (the same draws, the same numbers).
 */
export function pooledPairedBootstrapAuc(labels: ArrayLike<number>, pairs: readonly ScorePair[], rng: Rng, options: BootstrapOptions = {}): AucDifference {
  const metric = pairs.length === 1 ? "pairedBootstrapAuc" : "pooledPairedBootstrapAuc";
  checkLabels(metric, labels);
  if (pairs.length === 0) throw new RangeError(`${metric}: pairs is empty`);
  const { resamples, level } = resampling(metric, options);
  const ranked: [Ranking, Ranking][] = pairs.map((p, k) => {
    const name = (m: "A" | "B") => (pairs.length === 1 ? `scores${m}` : `pairs[${k}].${m.toLowerCase()}`);
    return [rankChecked(metric, name("A"), p.a, labels.length), rankChecked(metric, name("B"), p.b, labels.length)];
  });
  const meanDiff = (counts?: Int32Array): number => {
    let sum = 0;
    for (const [ra, rb] of ranked) sum += aucOfRanking(ra, labels, counts) - aucOfRanking(rb, labels, counts);
    return sum / ranked.length;
  };
  const values = resampleUsers(labels.length, rng, resamples, meanDiff);
  let atMostZero = 0;
  for (const v of values) if (v <= 0) atMostZero++;
  return {
    diff: meanDiff(),
    lo: quantile(values, (1 - level) / 2),
    hi: quantile(values, (1 + level) / 2),
    level,
    resamples,
    degenerate: resamples - values.length,
    atMostZero: values.length > 0 ? atMostZero / values.length : NaN,
  };
}

/** 0/1 labels with at least 2 of each class: with one, most resamples hinge on a single user. */
function checkLabels(metric: string, labels: ArrayLike<number>): void {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`${metric}: labels[${i}] is ${labels[i]}, not 0 or 1`);
    positives += labels[i];
  }
  const negatives = labels.length - positives;
  if (positives < 2 || negatives < 2) throw new RangeError(`${metric}: labels needs at least 2 positives and 2 negatives, got ${positives} and ${negatives}`);
}

function rankChecked(metric: string, name: string, scores: ArrayLike<number>, n: number): Ranking {
  if (scores.length !== n) throw new RangeError(`${metric}: ${name} has ${scores.length} scores but labels has ${n}`);
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i])) throw new RangeError(`${metric}: ${name}[${i}] is NaN`);
  return rank(scores);
}
