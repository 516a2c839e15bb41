// OUT/predictions.json: every user's validation and test prediction at the best-validation round,
// so that two runs can be compared user by user (a paired bootstrap, bench/paired.ts) instead of
// through their separate intervals. Columnar JSON: one array per column, in user order (users by
// raw id, as the data set orders them). JSON numbers written by JSON.stringify read back to the
// same float64, so the scores are exact; 1,791 users take about 100 KB. Node-only (files).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LeaveOneOut } from "../data/split.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { Scores } from "./evaluate.js";

export const PREDICTIONS_JSON = "predictions.json";

export interface TargetColumns {
  /** The target impression's click label (0 or 1), per user. */
  label: number[];
  /** The predicted click probability, per user. */
  score: number[];
}

export interface PredictionsFile {
  format: 1;
  /** The evaluated round these predictions come from (report.json's best.round). */
  round: number;
  /** Raw user id of each position. */
  users: number[];
  valid: TargetColumns;
  test: TargetColumns;
}

export function predictionsFile(round: number, userIds: ArrayLike<number>, split: LeaveOneOut, p: Scores): PredictionsFile {
  return {
    format: 1,
    round,
    users: Array.from(userIds),
    valid: { label: Array.from(split.validLabel), score: Array.from(p.valid) },
    test: { label: Array.from(split.testLabel), score: Array.from(p.test) },
  };
}

/** Writes OUT/predictions.json atomically (a reader never sees half a file). */
export function writePredictions(out: string, file: PredictionsFile): void {
  // a NaN score is not JSON and would come back as null: refuse it here rather than there
  for (const part of ["valid", "test"] as const) {
    const i = file[part].score.findIndex((s) => !Number.isFinite(s));
    if (i >= 0) throw new RangeError(`${PREDICTIONS_JSON}: ${part} score of user ${file.users[i]} is ${file[part].score[i]}`);
  }
  writeFileAtomic(join(out, PREDICTIONS_JSON), JSON.stringify(file) + "\n");
}

/** Reads and checks a predictions file (the file itself or the run folder holding it). */
export function readPredictions(path: string): PredictionsFile {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, PREDICTIONS_JSON) : path;
  if (!existsSync(file)) throw new Error(`${file}: no such file (train writes it at a run's first evaluated round)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  const f = raw as PredictionsFile;
  if (typeof f !== "object" || f === null || f.format !== 1) bad(`format ${(f as { format?: unknown } | null)?.format} is not supported (expected 1)`);
  if (!Number.isInteger(f.round) || f.round < 1) bad(`round must be a positive integer, got ${f.round}`);
  if (!Array.isArray(f.users) || f.users.length === 0) bad("users must be a non-empty array");
  const n = f.users.length;
  for (const part of ["valid", "test"] as const) {
    const c = f[part];
    if (typeof c !== "object" || c === null) bad(`${part} is missing`);
    for (const col of ["label", "score"] as const) {
      if (!Array.isArray(c[col]) || c[col].length !== n) bad(`${part}.${col} must be an array of ${n} numbers (one per user)`);
    }
    c.label.forEach((y, i) => y === 0 || y === 1 || bad(`${part}.label[${i}] is ${y}, not 0 or 1`));
    c.score.forEach((s, i) => (typeof s === "number" && Number.isFinite(s)) || bad(`${part}.score[${i}] is ${s}, not a finite number`));
  }
  return f;
}
