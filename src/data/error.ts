// The one error type of the data layer: every rejection of input data names where it happened, so a
// user can open the file at that line and column and see the offending value.

/** Bad or missing input data. `line` and `column` are 1-based; 0 means "not tied to a line/column". */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly columnName: string,
    detail: string,
  ) {
    super(`${locate(file, line, column, columnName)}: ${detail}`);
    this.name = "DataError";
  }
}

function locate(file: string, line: number, column: number, columnName: string): string {
  let at = file;
  if (line > 0) at += `, line ${line}`;
  if (column > 0) at += `, column ${column}`;
  if (columnName) at += ` ("${columnName}")`;
  return at;
}
