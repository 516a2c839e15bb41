// Evaluation metrics: AUC (with a bootstrap interval, alone or paired) and LogLoss. Depends on nothing above src/util.
export { adjustedRandIndex } from "./ari.js";
export { auc } from "./auc.js";
export { bootstrapAuc, type AucInterval, type BootstrapOptions } from "./bootstrap.js";
export { LOGLOSS_EPS, logLoss } from "./logloss.js";
export { pairedBootstrapAuc, pooledPairedBootstrapAuc, type AucDifference, type ScorePair } from "./paired-bootstrap.js";
