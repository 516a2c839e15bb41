// Bootstrap percentile interval for AUC. With one validation and one test label per user (1,791 on
// KuaiSAR-R) AUC moves by about ±0.02 between samples, so comparisons need the interval. Scores are
// ranked once; each resample is a vector of multiplicities and costs one O(n) pass.
import type { Rng } from "../util/rng.js";
import { aucOfRanking, rank } from "./auc.js";
import { checkPairs } from "./check.js";

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export interface AucInterval {
  /** AUC of the data itself. */
  auc: number;
  /** Percentile interval [lo, hi] of the resampled AUCs. */
  lo: number;
  hi: number;
  level: number;
  resamples: number;
  /** Resamples that drew a single class (no AUC), left out of the percentiles. */
  degenerate: number;
}

/**
 * Resamples the n (score, label) pairs with replacement, draws from `rng` only, and returns the
 * (1 − level)/2 and (1 + level)/2 percentiles of the resampled AUCs (linear interpolation between
 * order statistics). Input checks as auc(); when every resample is single-class, lo and hi are NaN.
 */
export function bootstrapAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, rng: Rng, options: BootstrapOptions = {}): AucInterval {
  checkPairs("bootstrapAuc", scores, labels);
  const { resamples, level } = resampling("bootstrapAuc", options);
  const ranking = rank(scores);
  const values = resampleUsers(scores.length, rng, resamples, (counts) => aucOfRanking(ranking, labels, counts));
  return {
    auc: aucOfRanking(ranking, labels),
    lo: quantile(values, (1 - level) / 2),
    hi: quantile(values, (1 + level) / 2),
    level,
    resamples,
    degenerate: resamples - values.length,
  };
}

/** The options with their defaults, checked; errors name `metric`. */
export function resampling(metric: string, options: BootstrapOptions): Required<BootstrapOptions> {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`${metric}: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`${metric}: level must be in (0, 1), got ${level}`);
  return { resamples, level };
}

/**
 * Draws `resamples` resamples of n users with replacement from `rng` (each a vector of
 * multiplicities) and returns `statistic` of each, ascending, without the NaNs (single-class
 * resamples, where AUC is undefined).
 */
export function resampleUsers(n: number, rng: Rng, resamples: number, statistic: (counts: Int32Array) => number): number[] {
  const counts = new Int32Array(n);
  const values: number[] = [];
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    for (let j = 0; j < n; j++) counts[rng.int(n)]++;
    const v = statistic(counts);
    if (!Number.isNaN(v)) values.push(v);
  }
  return values.sort((x, y) => x - y);
}

/** Quantile q of ascending values, interpolating between neighbours (Hyndman & Fan type 7); NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  return i + 1 < sorted.length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}
