// Pooled metrics of one evaluation: AUC and LogLoss over every user's single validation (and test)
// prediction, METHOD.md's protocol.
import type { LeaveOneOut } from "../data/split.js";
import { auc } from "../metrics/auc.js";
import { bootstrapAuc } from "../metrics/bootstrap.js";
import { logLoss } from "../metrics/logloss.js";
import { Rng } from "../util/rng.js";
import type { Predictions } from "./engine.js";

export interface Metrics {
  val_auc: number;
  val_logloss: number;
  test_auc: number;
  test_logloss: number;
}

/** Only the scores are read, so anything scoring each user's targets (the bench's floors too) fits. */
export type Scores = Pick<Predictions, "valid" | "test">;

export function metricsOf(p: Scores, split: LeaveOneOut): Metrics {
  return {
    val_auc: auc(p.valid, split.validLabel),
    val_logloss: logLoss(p.valid, split.validLabel),
    test_auc: auc(p.test, split.testLabel),
    test_logloss: logLoss(p.test, split.testLabel),
  };
}

/** Bootstrap 95% percentile interval of the test AUC, drawn from `seed` alone. */
export function testAucInterval(p: Scores, split: LeaveOneOut, seed: number, resamples: number): [number, number] {
  const ci = bootstrapAuc(p.test, split.testLabel, new Rng(seed), { resamples });
  return [ci.lo, ci.hi];
}
