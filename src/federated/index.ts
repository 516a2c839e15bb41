// Federated training (in-process or on worker threads): the round loop, aggregation, checkpoints
// and reports.
export { defaultConfig, checkConfig, REGIMES, type Regime, type TrainConfig } from "./config.js";
export type { Participation } from "./sample.js";
export type { LocalOptions } from "./client.js";
export type { Weighting } from "./runner.js";
export type { DataSource } from "./source.js";
export type { Predictions } from "./engine.js";
export { defaultWorkers } from "./pool.js";
export { planDp, type DpConfig, type DpNoise, type DpRequest } from "./dp-config.js";
export { DpAggregation, type DpAggregationOptions, type Release } from "./dp-aggregation.js";
export { calibrateNoise, epsilonOf, RdpAccountant, type Epsilon } from "../privacy/index.js";
export { DeviceScorer, deviceState, type DeviceState } from "./device.js";
// a run checkpoint's per-client arrays are read lazily: loadArray reads one whole
export { loadArray, type ArraySource, type CheckpointArray, type CheckpointEntry } from "./checkpoint.js";
// robust aggregation rules, transport-free (a coordinator over HTTP applies them too)
export { aggregateRows, type ClientRows, type RowsSummary } from "./robust/aggregate-rows.js";
export { AGGREGATOR_DEFAULTS, RULE_KINDS, checkRule, parseRuleKinds, parseTensorRules, type AggregatorConfig, type NormBound, type Rule, type RuleKind, type TensorRule } from "./robust/rules.js";
export {
  CHECKPOINT_FILE,
  REPORT_HTML,
  REPORT_JSON,
  readRunCheckpoint,
  resumeTraining,
  train,
  type Best,
  type Progress,
  type RoundRow,
  type RunCheckpoint,
  type RunOptions,
  type TrainReport,
  type TrainResult,
} from "./trainer.js";
export { PREDICTIONS_JSON, readPredictions, type PredictionsFile } from "./predictions-file.js";
