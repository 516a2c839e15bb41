// Binary cross-entropy of predicted probabilities, as the CTR literature reports it.
import { checkPairs } from "./check.js";

/**
 * Probabilities are clipped to [eps, 1 − eps] before the log. The model's probabilities are f32,
 * whose spacing just below 1 is 6e-8, so 1e-7 is the smallest clip that still separates 1 − eps from
 * 1; it caps one prediction's loss at −ln(1e-7) ≈ 16.1.
 */
export const LOGLOSS_EPS = 1e-7;

/**
 * Mean of −[y·ln p + (1 − y)·ln(1 − p)] with p clipped to [eps, 1 − eps]. Throws on empty input,
 * unequal lengths, a label other than 0/1, or a probability outside [0, 1] (or NaN). Defined for
 * single-class input.
 */
export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>, eps = LOGLOSS_EPS): number {
  checkPairs("logLoss", probs, labels);
  if (!(eps > 0 && eps < 0.5)) throw new RangeError(`logLoss: eps must be in (0, 0.5), got ${eps}`);
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`logLoss: probability ${i} is ${p}, not in [0, 1]`);
    const q = Math.min(Math.max(p, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(q) : Math.log1p(-q);
  }
  return sum / probs.length;
}
