// Layers of the recommender, each declaring its parameters and building its graph on a tape.
export { AttentionSublayer } from "./attention-sublayer.js";
export { balanceLoss } from "./balance-loss.js";
export { ClickEmbedding } from "./click-embedding.js";
export { FeedForward } from "./feed-forward.js";
export { FieldEmbedding } from "./field-embedding.js";
export { floatTensor, indexTensor } from "./fill.js";
export { GroupExperts } from "./group-experts.js";
export { chosenProbability, GroupGate, type GateResult } from "./group-gate.js";
export { fanInUniform, layerNormInit } from "./init.js";
export { LayerNorm } from "./layer-norm.js";
export { Mlp } from "./mlp.js";
export { specsOf, type Module } from "./module.js";
export { PositionEmbedding } from "./position.js";
