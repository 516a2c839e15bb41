// The recommender: MRFF and its FedSASRec baseline, their parameter partitions, and on-device scoring.
export { createModel, countParams, DEFAULT_CONFIG, ModelConfigError } from "./build.js";
export { PERSONAL_BIAS, USER_BIAS, SequenceModel, type Encoded, type SequenceBatch } from "./model.js";
export { schemaOf } from "./schema.js";
export { scoreItems, type ScoreRequest } from "./score.js";
export type { BatchInputs, ForwardOptions, ForwardResult, ModelConfig, ModelKind, Recommender, Schema } from "./types.js";
