// The parameter layout of a regime: as the model declares it, or all private (local training).
// Kept apart from the data loading in source.ts so that the on-device path needs no Node API.
import type { ParamSpec } from "../autograd/params.js";
import type { Recommender } from "../model/types.js";

export function regimeSpecs(model: Recommender, allPrivate: boolean): ParamSpec[] {
  return allPrivate ? model.specs.map((s) => ({ ...s, partition: "private" })) : model.specs;
}
