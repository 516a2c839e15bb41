// The sizes a model takes from a data set: the cardinality of every item and user field.
import type { DataSchema } from "../data/schema.js";
import type { Schema } from "./types.js";

/** Takes a loaded Dataset as well as a DataSchema (its fields carry the same name and cardinality). */
export function schemaOf(ds: DataSchema): Schema {
  return {
    itemCardinalities: ds.itemFields.map((f) => f.cardinality),
    userCardinalities: ds.userFields.map((f) => f.cardinality),
  };
}
