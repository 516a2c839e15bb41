// The raw form of the input, between the file format and the dataset: numeric columns as parsed
// (or as generated), each value remembering its file, line and column so that the cross-table checks
// in dataset.ts can still point at the offending cell.
import { DataError } from "./error.js";

/**
 * How a column's cells are read. int: an integer (written as `12` or `12.0`) within ±2^53; float:
 * any finite decimal (timestamps); label: 0 or 1.
 */
export type ColumnKind = "int" | "float" | "label";

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
}

export interface Column extends ColumnSpec {
  /** 1-based position in the file's header. */
  position: number;
  values: Float64Array;
}

export interface Table {
  file: string;
  rows: number;
  /** 1-based line on which each row starts. */
  lines: Int32Array;
  /** The columns that were asked for (a file's other columns are not kept). */
  columns: Column[];
}

/** The field names a `*_feature_dict.txt` file lists, one per line. */
export interface FieldList {
  file: string;
  names: string[];
}

/** A table's column by name, or a DataError naming the file's header. */
export function column(table: Table, name: string): Column {
  const col = table.columns.find((c) => c.name === name);
  if (!col) throw new DataError(table.file, 1, 0, name, "missing column");
  return col;
}

/** Why value v is not acceptable for a column of this kind, or "" when it is. */
export function rejectValue(kind: ColumnKind, v: number): string {
  if (Number.isNaN(v)) return "not a number";
  if (kind === "label") return v === 0 || v === 1 ? "" : "label must be 0 or 1";
  if (kind === "int") return Number.isSafeInteger(v) ? "" : "not an integer in ±2^53";
  return Number.isFinite(v) ? "" : "not a finite number";
}

/**
 * A table built in memory, its cells checked as parseCsv checks them, numbered as parseCsv would
 * number its written file (header on line 1, one row per line).
 */
export function tableOf(file: string, specs: readonly ColumnSpec[], data: readonly ArrayLike<number>[]): Table {
  const rows = data.length ? data[0].length : 0;
  if (data.length !== specs.length || data.some((d) => d.length !== rows)) throw new RangeError("tableOf: one array of equal length per column is needed");
  const columns: Column[] = specs.map((spec, k) => {
    const values = Float64Array.from(data[k]);
    for (let r = 0; r < rows; r++) {
      const why = rejectValue(spec.kind, values[r]);
      if (why) throw new DataError(file, r + 2, k + 1, spec.name, `${why}: ${values[r]}`);
    }
    return { ...spec, position: k + 1, values };
  });
  return { file, rows, lines: Int32Array.from({ length: rows }, (_, r) => r + 2), columns };
}
