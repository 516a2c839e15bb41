// CSV <-> Table. Reading works on the file's bytes in one pass with no per-line strings or regular
// expressions (KuaiSAR-R's 3 MB interaction file parses in tens of milliseconds), keeps only the
// columns asked for, and validates each kept cell as it is read. RFC 4180 quoting is understood so
// that ignored text columns may hold commas, quotes and newlines; LF and CRLF line ends, a UTF-8 BOM
// and trailing blank lines are accepted.
import { DataError } from "./error.js";
import { parseDecimal } from "./decimal.js";
import { rejectValue, type Column, type ColumnSpec, type Table } from "./table.js";

const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
/** What follows a field. */
const END_OF_RECORD = 1;
const END_OF_FILE = 2;

const utf8 = new TextDecoder();

/** Walks a file field by field; after next(), the field's content is bytes [start, end). */
class FieldScanner {
  pos: number;
  /** Line of the byte at pos. */
  line = 1;
  start = 0;
  end = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly file: string,
  ) {
    this.pos = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  }

  /** Reads one field; returns COMMA, END_OF_RECORD or END_OF_FILE, whichever ends it. */
  next(): number {
    const b = this.b;
    const n = b.length;
    let p = this.pos;
    if (p < n && b[p] === QUOTE) {
      const openLine = this.line;
      this.start = ++p;
      for (;;) {
        if (p >= n) throw new DataError(this.file, openLine, 0, "", "quoted field is never closed");
        const c = b[p];
        if (c === QUOTE) {
          if (p + 1 < n && b[p + 1] === QUOTE) {
            p += 2;
            continue;
          }
          break;
        }
        if (c === LF) this.line++;
        p++;
      }
      this.end = p++;
      if (p < n && b[p] === CR && (p + 1 === n || b[p + 1] === LF)) p++;
      if (p < n && b[p] !== COMMA && b[p] !== LF) {
        throw new DataError(this.file, this.line, 0, "", "text after a closing quote");
      }
    } else {
      this.start = p;
      while (p < n && b[p] !== COMMA && b[p] !== LF) p++;
      this.end = p > this.start && b[p - 1] === CR && (p === n || b[p] === LF) ? p - 1 : p;
    }
    if (p >= n) {
      this.pos = n;
      return END_OF_FILE;
    }
    this.pos = p + 1;
    if (b[p] === COMMA) return COMMA;
    this.line++;
    return END_OF_RECORD;
  }

  /** Whether the current line is empty. */
  atLineEnd(): boolean {
    const c = this.b[this.pos];
    return c === LF || (c === CR && this.b[this.pos + 1] === LF);
  }

  /** Whether only line ends remain. */
  atBlankTail(): boolean {
    for (let p = this.pos; p < this.b.length; p++) if (this.b[p] !== LF && this.b[p] !== CR) return false;
    return true;
  }

  text(): string {
    return utf8.decode(this.b.subarray(this.start, this.end));
  }
}

/** Parses a CSV file with a header line, keeping the columns in `specs` (in that order). */
export function parseCsv(bytes: Uint8Array, file: string, specs: readonly ColumnSpec[]): Table {
  const sc = new FieldScanner(bytes, file);
  if (sc.atBlankTail()) throw new DataError(file, 1, 0, "", "file is empty (a header line is needed)");
  const header: string[] = [];
  for (let t = COMMA; t === COMMA; ) {
    t = sc.next();
    header.push(sc.text());
  }
  const width = header.length;
  let capacity = 1;
  for (let p = bytes.indexOf(LF); p >= 0; p = bytes.indexOf(LF, p + 1)) capacity++;
  const slot = new Int32Array(width).fill(-1);
  const columns: Column[] = specs.map((spec, k) => {
    const at = header.indexOf(spec.name);
    if (at < 0) throw new DataError(file, 1, 0, spec.name, `missing column (the header has: ${header.join(", ")})`);
    const again = header.indexOf(spec.name, at + 1);
    if (again >= 0) throw new DataError(file, 1, again + 1, spec.name, `column name also used by column ${at + 1}`);
    slot[at] = k;
    return { ...spec, position: at + 1, values: new Float64Array(capacity) };
  });

  const lines = new Int32Array(capacity);
  let rows = 0;
  while (!sc.atBlankTail()) {
    const line = sc.line;
    if (sc.atLineEnd()) throw new DataError(file, line, 0, "", "empty line");
    let fields = 0;
    for (let t = COMMA; t === COMMA; fields++) {
      t = sc.next();
      const k = fields < width ? slot[fields] : -1;
      if (k < 0) continue;
      const col = columns[k];
      const v = parseDecimal(bytes, sc.start, sc.end);
      const why = rejectValue(col.kind, v);
      if (why) throw new DataError(file, line, col.position, col.name, `${why}: "${sc.text()}"`);
      col.values[rows] = v;
    }
    if (fields !== width) throw new DataError(file, line, 0, "", `${fields} fields, but the header has ${width}`);
    lines[rows++] = line;
  }
  for (const col of columns) col.values = col.values.subarray(0, rows);
  return { file, rows, lines: lines.subarray(0, rows), columns };
}

/** Writes a table as CSV (LF line ends); float columns holding whole numbers keep a ".0" as pandas writes them. */
export function formatCsv(table: Table): string {
  const cols = table.columns;
  const out: string[] = [cols.map((c) => c.name).join(",")];
  const cells: string[] = new Array<string>(cols.length);
  for (let r = 0; r < table.rows; r++) {
    for (let k = 0; k < cols.length; k++) {
      const v = cols[k].values[r];
      cells[k] = cols[k].kind === "float" && Number.isInteger(v) ? v.toFixed(1) : String(v);
    }
    out.push(cells.join(","));
  }
  out.push("");
  return out.join("\n");
}
