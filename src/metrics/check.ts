// Input checks shared by the metrics: a metric over bad input throws rather than returning a number
// that looks plausible.

/** Throws unless scores and labels are non-empty, of equal length, and every label is 0 or 1. */
export function checkPairs(metric: string, scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new RangeError(`${metric}: ${scores.length} predictions but ${labels.length} labels`);
  if (scores.length === 0) throw new RangeError(`${metric}: no predictions`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`${metric}: label ${i} is ${labels[i]}, not 0 or 1`);
  }
}
