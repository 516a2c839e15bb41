// A KuaiSAR-style folder on disk: df.csv, user_features.csv, video_features.csv and the two field
// lists `<name>_user_feature_dict.txt`, `<name>_video_feature_dict.txt`. Reading takes whole files
// (a few MB) and hands the bytes to the parser; writing goes to a temporary folder renamed into place,
// so a reader never sees a half-written folder.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { formatCsv, parseCsv } from "./csv.js";
import { buildDataset, featureColumns, INTERACTION_COLUMNS, ITEM_ID, USER_ID, type Dataset, type RawData } from "./dataset.js";
import { DataError } from "./error.js";
import { formatFieldList, parseFieldList } from "./field-list.js";
import { featureSchema, type DataSchema } from "./schema.js";
import type { FieldList } from "./table.js";

export const INTERACTIONS_FILE = "df.csv";
export const USERS_FILE = "user_features.csv";
export const ITEMS_FILE = "video_features.csv";
export const USER_FIELDS_SUFFIX = "_user_feature_dict.txt";
export const ITEM_FIELDS_SUFFIX = "_video_feature_dict.txt";

/** Reads and validates a folder into the dataset (see buildDataset). */
export function readFolder(dir: string): Dataset {
  return buildDataset(readRawFolder(dir));
}

/** Reads a folder's tables, each checked cell by cell, without the cross-table checks. */
export function readRawFolder(dir: string): RawData {
  const features = readFeatureTables(dir);
  return { interactions: parseCsv(readBytes(dir, INTERACTIONS_FILE), join(dir, INTERACTIONS_FILE), INTERACTION_COLUMNS), ...features };
}

/** The field vocabulary of a folder, from its field lists and feature tables (not its interactions). */
export function readFolderSchema(dir: string): DataSchema {
  const f = readFeatureTables(dir);
  return featureSchema(f.users, f.userFields, f.items, f.itemFields);
}

function readFeatureTables(dir: string): Omit<RawData, "interactions"> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new DataError(dir, 0, 0, "", "cannot read this folder");
  }
  const userFields = readFieldList(dir, onlyFileEnding(dir, names, USER_FIELDS_SUFFIX));
  const itemFields = readFieldList(dir, onlyFileEnding(dir, names, ITEM_FIELDS_SUFFIX));
  return {
    users: parseCsv(readBytes(dir, USERS_FILE), join(dir, USERS_FILE), featureColumns(USER_ID, userFields)),
    items: parseCsv(readBytes(dir, ITEMS_FILE), join(dir, ITEMS_FILE), featureColumns(ITEM_ID, itemFields)),
    userFields,
    itemFields,
  };
}

/**
 * Writes raw tables as a folder that readRawFolder reads back unchanged. The folder must not exist;
 * it appears complete or not at all.
 */
export function writeFolder(dir: string, raw: RawData, name: string): void {
  if (existsSync(dir)) throw new Error(`writeFolder: ${dir} already exists`);
  const tmp = mkdtempSync(join(dirname(dir), `.${basename(dir)}.tmp-`));
  try {
    writeFileSync(join(tmp, INTERACTIONS_FILE), formatCsv(raw.interactions));
    writeFileSync(join(tmp, USERS_FILE), formatCsv(raw.users));
    writeFileSync(join(tmp, ITEMS_FILE), formatCsv(raw.items));
    writeFileSync(join(tmp, name + USER_FIELDS_SUFFIX), formatFieldList(raw.userFields));
    writeFileSync(join(tmp, name + ITEM_FIELDS_SUFFIX), formatFieldList(raw.itemFields));
    chmodSync(tmp, 0o755); // mkdtemp makes it private; the result is an ordinary folder
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function onlyFileEnding(dir: string, names: string[], suffix: string): string {
  const found = names.filter((n) => n.endsWith(suffix));
  if (found.length === 1) return found[0];
  const detail = found.length ? `several files end in ${suffix}: ${found.join(", ")}` : `no file ends in ${suffix}`;
  throw new DataError(dir, 0, 0, "", detail);
}

function readBytes(dir: string, name: string): Uint8Array {
  try {
    return readFileSync(join(dir, name));
  } catch {
    throw new DataError(join(dir, name), 0, 0, "", "missing file (or not readable)");
  }
}

function readFieldList(dir: string, name: string): FieldList {
  return parseFieldList(new TextDecoder().decode(readBytes(dir, name)), join(dir, name));
}
