// The sizes a model takes from a data set: the cardinality of every item and user field.
import type { Dataset } from "../data/dataset.js";
import type { Schema } from "./types.js";

export function schemaOf(ds: Dataset): Schema {
  return {
    itemCardinalities: ds.itemFields.map((f) => f.cardinality),
    userCardinalities: ds.userFields.map((f) => f.cardinality),
  };
}
