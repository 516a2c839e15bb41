// The `*_user_feature_dict.txt` / `*_video_feature_dict.txt` files: which columns of the feature
// tables are model fields, one name per line, in the order the model concatenates their embeddings.
import { DataError } from "./error.js";
import type { FieldList } from "./table.js";

/** Parses a field list; blank lines and surrounding whitespace are ignored, repeats and emptiness are errors. */
export function parseFieldList(text: string, file: string): FieldList {
  const names: string[] = [];
  const seenAt = new Map<string, number>();
  text.split("\n").forEach((raw, i) => {
    const name = raw.replace(/^\uFEFF/, "").trim();
    if (!name) return;
    const first = seenAt.get(name);
    if (first !== undefined) throw new DataError(file, i + 1, 0, name, `field listed twice (first on line ${first})`);
    seenAt.set(name, i + 1);
    names.push(name);
  });
  if (names.length === 0) throw new DataError(file, 0, 0, "", "lists no fields");
  return { file, names };
}

/** Writes a field list in the format parseFieldList reads. */
export function formatFieldList(list: FieldList): string {
  return list.names.map((n) => `${n}\n`).join("");
}
