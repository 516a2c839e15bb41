// The whole op table: every kernel family's entries, in one list.
import { adamOps } from "./adam.js";
import { attentionOps } from "./attention.js";
import { compressOps } from "./compress.js";
import { dropoutOps } from "./dropout.js";
import { elementwiseOps } from "./elementwise.js";
import { embeddingOps } from "./embedding.js";
import { ffnOps } from "./ffn.js";
import { gemmOps } from "./gemm.js";
import { layerNormOps } from "./layernorm.js";
import { lossOps } from "./loss.js";
import type { OpDef } from "./registry.js";
import { vectorOps } from "./vector.js";

export const ALL_OPS: OpDef[] = [
  ...gemmOps,
  ...attentionOps,
  ...ffnOps,
  ...layerNormOps,
  ...embeddingOps,
  ...lossOps,
  ...adamOps,
  ...vectorOps,
  ...elementwiseOps,
  ...dropoutOps,
  ...compressOps,
];

export type { OpDef } from "./registry.js";
