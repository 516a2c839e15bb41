// Model construction: the reference configuration of METHOD.md, validation, and the parameter
// count of each partition (what a round sends and what stays on the device).
import type { ParamSpec, Partition } from "../autograd/params.js";
import { sizeOf } from "../autograd/tensor.js";
import { SequenceModel } from "./model.js";
import type { ModelConfig, Schema } from "./types.js";

/**
 * METHOD.md's reference hyper-parameters. The prediction MLP is the reference code's: input
 * [h_t ; item ; e_u] (128 wide at 6 item and 4 user fields of 8), one hidden layer of 32, one logit.
 */
export const DEFAULT_CONFIG: Readonly<ModelConfig> = Object.freeze({
  kind: "mrff",
  maxlen: 65,
  fieldDim: 8,
  blocks: 2,
  heads: 1,
  groups: 4,
  alpha: 0.1,
  dropout: 0.5,
  gateWeighted: false,
  gateClicks: false,
  clickInput: false,
  userBias: false,
  itemBias: false,
  mlp: Object.freeze([32]) as number[],
});

/** A model setting that cannot work, alone or with the data's schema: a user's mistake, not a bug. */
export class ModelConfigError extends RangeError {
  override name = "ModelConfigError";
}

export function createModel(config: ModelConfig, schema: Schema): SequenceModel {
  checkConfig(config);
  if (schema.itemCardinalities.length === 0 || schema.userCardinalities.length === 0) {
    throw new RangeError("createModel: the schema needs at least one item field and one user field");
  }
  const d = schema.itemCardinalities.length * config.fieldDim;
  if (d % config.heads !== 0) throw new ModelConfigError(`createModel: heads must divide the item vector's width d = ${schema.itemCardinalities.length} item fields × field dim ${config.fieldDim} = ${d}, got ${config.heads}`);
  return new SequenceModel(config, schema);
}

function checkConfig(c: ModelConfig): void {
  const bad = (what: string): never => {
    throw new ModelConfigError(`createModel: ${what}`);
  };
  if (c.kind !== "mrff" && c.kind !== "fedsasrec") bad(`unknown model kind '${c.kind}'`);
  for (const k of ["maxlen", "fieldDim", "blocks", "heads", "groups"] as const) {
    if (!(Number.isInteger(c[k]) && c[k] >= 1)) bad(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) bad(`dropout must be in [0, 1), got ${c.dropout}`);
  if (!(Number.isFinite(c.alpha) && c.alpha >= 0)) bad(`alpha must be a finite number ≥ 0, got ${c.alpha}`);
  if (!c.mlp.every((w) => Number.isInteger(w) && w >= 1)) bad(`mlp widths must be positive integers, got [${c.mlp.join(", ")}]`);
  if (c.userExpertInit !== undefined && c.userExpertInit !== "fan-in" && c.userExpertInit !== "zero") bad(`userExpertInit must be fan-in or zero, got '${c.userExpertInit}'`);
  if (c.personalBias !== undefined && c.personalBias !== "trained" && c.personalBias !== "eval") bad(`personalBias must be trained or eval, got '${c.personalBias}'`);
}

/** Number of parameters in each partition. */
export function countParams(specs: readonly ParamSpec[]): Record<Partition, number> {
  const n: Record<Partition, number> = { shared: 0, group: 0, private: 0 };
  for (const s of specs) n[s.partition] += sizeOf(s.shape);
  return n;
}
