// The in-memory dataset the model trains on, built from raw tables (read from a folder or generated).
// Everything the model needs is a typed array: field codes of every user and item, and each user's
// impressions in time order. Padding is code 0 in every field and item index 0, so a left-padded
// window of item indices can gather field codes without a special case.
import { DataError } from "./error.js";
import { KeyIndex } from "./key-index.js";
import { column, type Column, type ColumnSpec, type FieldList, type Table } from "./table.js";

/** Column names of the KuaiSAR-style format (the field columns come from the field lists). */
export const USER_ID = "user_id";
export const ITEM_ID = "video_id";
export const TIMESTAMP = "timestamp";
export const LABEL = "is_click";

/** A user needs a training item, a validation target and a test target (METHOD.md's split). */
export const MIN_INTERACTIONS = 3;

export interface RawData {
  /** USER_ID, ITEM_ID, TIMESTAMP, LABEL: one row per impression. */
  interactions: Table;
  /** USER_ID and the columns named in userFields. */
  users: Table;
  /** ITEM_ID and the columns named in itemFields. */
  items: Table;
  userFields: FieldList;
  itemFields: FieldList;
}

export interface Field {
  name: string;
  /** Number of codes, padding included: codes are 0 (padding) and 1..cardinality-1. */
  cardinality: number;
  /** Raw value of code c ≥ 1 is values[c - 1] (codes follow ascending raw value). */
  values: Float64Array;
  /** First row of this field in one embedding table stacking all fields of its kind in order. */
  offset: number;
}

/** What loading kept out of the dataset, so that nothing disappears unannounced. */
export interface LoadReport {
  /** Interaction rows read. */
  rows: number;
  /** Users with 1 or 2 interactions (too few to split): left out, with their rows. */
  shortUsers: number;
  shortUserRows: number;
  /** Users with a feature row but no interaction: left out. */
  idleUsers: number;
  /** Items in no kept impression (never shown, or shown only to left-out users): kept in the catalogue. */
  idleItems: number;
}

export interface Dataset {
  userFields: Field[];
  itemFields: Field[];
  numUsers: number;
  /** Real items; item indices run 1..numItems, 0 is padding. */
  numItems: number;
  /** Raw id of user u (users ordered by raw id). */
  userIds: Float64Array;
  /** Raw id of item i ≥ 1 at [i - 1] (items ordered by raw id). */
  itemIds: Float64Array;
  /** numUsers × userFields.length field codes. */
  userFeatures: Int32Array;
  /** (numItems + 1) × itemFields.length field codes; row 0 (padding) is all 0. */
  itemFeatures: Int32Array;
  /** User u's impressions are positions seqStart[u] .. seqStart[u+1]-1 of the seq* arrays. */
  seqStart: Int32Array;
  /** Impressions of each user sorted by time, ties kept in file order. */
  seqItems: Int32Array;
  seqLabels: Uint8Array;
  seqTimes: Float64Array;
  report: LoadReport;
}

export const INTERACTION_COLUMNS: readonly ColumnSpec[] = [
  { name: USER_ID, kind: "int" },
  { name: ITEM_ID, kind: "int" },
  { name: TIMESTAMP, kind: "float" },
  { name: LABEL, kind: "label" },
];

/** The columns a feature table must have: its id and the listed fields. */
export function featureColumns(idName: string, fields: FieldList): ColumnSpec[] {
  const at = fields.names.indexOf(idName);
  if (at >= 0) throw new DataError(fields.file, 0, 0, idName, "the id column cannot also be a field");
  return [{ name: idName, kind: "int" }, ...fields.names.map((name) => ({ name, kind: "int" as const }))];
}

/** Validates the raw tables against each other and builds the dataset. */
export function buildDataset(raw: RawData): Dataset {
  const users = indexIds(raw.users, column(raw.users, USER_ID));
  const items = indexIds(raw.items, column(raw.items, ITEM_ID));
  const t = raw.interactions;
  const rowUser = lookUp(t, column(t, USER_ID), users.keys, raw.users.file);
  const rowItem = lookUp(t, column(t, ITEM_ID), items.keys, raw.items.file);
  const times = column(t, TIMESTAMP).values;
  const labels = column(t, LABEL).values;

  // Keep users with enough impressions; new user indices follow ascending raw id.
  const count = new Int32Array(users.keys.size);
  for (let r = 0; r < t.rows; r++) count[rowUser[r]]++;
  const newUser = new Int32Array(count.length).fill(-1);
  const report: LoadReport = { rows: t.rows, shortUsers: 0, shortUserRows: 0, idleUsers: 0, idleItems: 0 };
  let numUsers = 0;
  for (let k = 0; k < count.length; k++) {
    if (count[k] >= MIN_INTERACTIONS) newUser[k] = numUsers++;
    else if (count[k] === 0) report.idleUsers++;
    else {
      report.shortUsers++;
      report.shortUserRows += count[k];
    }
  }

  if (numUsers === 0) throw new DataError(t.file, 0, 0, "", `no user has ${MIN_INTERACTIONS} or more impressions (${t.rows} rows)`);

  // Bucket rows by user in file order (a counting sort, so stable), then sort each bucket by time.
  const seqStart = new Int32Array(numUsers + 1);
  for (let k = 0; k < count.length; k++) if (newUser[k] >= 0) seqStart[newUser[k] + 1] = count[k];
  for (let u = 0; u < numUsers; u++) seqStart[u + 1] += seqStart[u];
  const total = seqStart[numUsers];
  const order = new Int32Array(total);
  const fill = seqStart.slice(0, numUsers);
  for (let r = 0; r < t.rows; r++) {
    const u = newUser[rowUser[r]];
    if (u >= 0) order[fill[u]++] = r;
  }
  const byTime = (a: number, b: number): number => times[a] - times[b] || a - b;
  for (let u = 0; u < numUsers; u++) {
    const seg = order.subarray(seqStart[u], seqStart[u + 1]);
    if (!isSortedBy(seg, times)) seg.sort(byTime);
  }
  const seqItems = new Int32Array(total);
  const seqLabels = new Uint8Array(total);
  const seqTimes = new Float64Array(total);
  const shown = new Uint8Array(items.keys.size);
  for (let p = 0; p < total; p++) {
    const r = order[p];
    seqItems[p] = rowItem[r] + 1;
    seqLabels[p] = labels[r];
    seqTimes[p] = times[r];
    shown[rowItem[r]] = 1;
  }
  for (const s of shown) report.idleItems += 1 - s;

  // Destination row of each feature-table row: kept users by new index, items after the padding row.
  const userRow = new Int32Array(raw.users.rows).fill(-1);
  for (let k = 0; k < users.rowOf.length; k++) userRow[users.rowOf[k]] = newUser[k];
  const itemRow = new Int32Array(raw.items.rows);
  for (let k = 0; k < items.rowOf.length; k++) itemRow[items.rowOf[k]] = k + 1;
  const userCodes = encodeFields(raw.users, raw.userFields, userRow, numUsers);
  const itemCodes = encodeFields(raw.items, raw.itemFields, itemRow, items.keys.size + 1);

  const userIds = new Float64Array(numUsers);
  for (let k = 0; k < count.length; k++) if (newUser[k] >= 0) userIds[newUser[k]] = users.keys.keys[k];
  return {
    userFields: userCodes.fields,
    itemFields: itemCodes.fields,
    numUsers,
    numItems: items.keys.size,
    userIds,
    itemIds: items.keys.keys,
    userFeatures: userCodes.codes,
    itemFeatures: itemCodes.codes,
    seqStart,
    seqItems,
    seqLabels,
    seqTimes,
    report,
  };
}

/** Sorted distinct ids of a feature table and the row holding each; a repeated id is an error. */
function indexIds(table: Table, ids: Column): { keys: KeyIndex; rowOf: Int32Array } {
  const keys = KeyIndex.of(ids.values);
  if (keys.size < table.rows) {
    const firstRow = new Map<number, number>();
    for (let r = 0; r < table.rows; r++) {
      const first = firstRow.get(ids.values[r]);
      if (first !== undefined) {
        const detail = `${ids.name} ${ids.values[r]} repeats the row on line ${table.lines[first]}`;
        throw new DataError(table.file, table.lines[r], ids.position, ids.name, detail);
      }
      firstRow.set(ids.values[r], r);
    }
  }
  const rowOf = new Int32Array(keys.size);
  for (let r = 0; r < table.rows; r++) rowOf[keys.find(ids.values[r])] = r;
  return { keys, rowOf };
}

/** Index of each row's id among the keys; an id without a feature row is an error. */
function lookUp(table: Table, ids: Column, keys: KeyIndex, featureFile: string): Int32Array {
  const out = new Int32Array(table.rows);
  for (let r = 0; r < table.rows; r++) {
    const k = keys.find(ids.values[r]);
    if (k < 0) throw new DataError(table.file, table.lines[r], ids.position, ids.name, `${ids.name} ${ids.values[r]} has no row in ${featureFile}`);
    out[r] = k;
  }
  return out;
}

/**
 * Field codes of every listed field: row r of the table goes to row dest[r] of the result (skipped
 * when -1). Codes are assigned over all rows of the table, so they do not depend on which users
 * were kept.
 */
function encodeFields(table: Table, list: FieldList, dest: Int32Array, rows: number): { fields: Field[]; codes: Int32Array } {
  const width = list.names.length;
  const codes = new Int32Array(rows * width);
  let offset = 0;
  const fields = list.names.map((name, f): Field => {
    const values = column(table, name).values;
    const vocab = fieldVocabulary(table, name);
    for (let r = 0; r < table.rows; r++) if (dest[r] >= 0) codes[dest[r] * width + f] = vocab.find(values[r]) + 1;
    const field = { name, cardinality: vocab.size + 1, values: vocab.keys, offset };
    offset += field.cardinality;
    return field;
  });
  return { fields, codes };
}

/** A field's distinct raw values, ascending: code c ≥ 1 stands for the (c-1)-th. */
export function fieldVocabulary(table: Table, name: string): KeyIndex {
  return KeyIndex.of(column(table, name).values);
}

function isSortedBy(rows: Int32Array, key: Float64Array): boolean {
  for (let i = 1; i < rows.length; i++) if (key[rows[i]] < key[rows[i - 1]]) return false;
  return true;
}

/** Index of raw id `id` in ascending raw ids (Dataset.userIds, Dataset.itemIds), or -1. */
export function rawIdIndex(ids: Float64Array, id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] === id) return mid;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
