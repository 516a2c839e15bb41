// The field vocabulary a model is built for: every user and item field's name and cardinality
// (codes, padding included), in order. A coordinator needs only this from the data, never a user's
// rows; a client checks its own data against it before it trains.
import { fieldVocabulary, type Field } from "./dataset.js";
import type { FieldList, Table } from "./table.js";

export interface FieldInfo {
  name: string;
  cardinality: number;
}

export interface DataSchema {
  userFields: FieldInfo[];
  itemFields: FieldInfo[];
}

/** The schema of a loaded data set. */
export function dataSchemaOf(ds: { userFields: readonly Field[]; itemFields: readonly Field[] }): DataSchema {
  const info = (f: Field): FieldInfo => ({ name: f.name, cardinality: f.cardinality });
  return { userFields: ds.userFields.map(info), itemFields: ds.itemFields.map(info) };
}

/**
 * The schema of raw feature tables without the interactions: buildDataset assigns a field's codes
 * over every row of its table, so the cardinalities do not depend on which users are kept.
 */
export function featureSchema(users: Table, userFields: FieldList, items: Table, itemFields: FieldList): DataSchema {
  const infos = (table: Table, list: FieldList): FieldInfo[] => list.names.map((name) => ({ name, cardinality: fieldVocabulary(table, name).size + 1 }));
  return { userFields: infos(users, userFields), itemFields: infos(items, itemFields) };
}
