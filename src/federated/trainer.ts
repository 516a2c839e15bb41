// The round loop shared by every regime: train a round, evaluate every evalEvery rounds (and after
// the last), keep the best-validation round (and write its per-user predictions), write a
// checkpoint after every round and the report after every evaluation. resumeTraining continues
// from a checkpoint to the numbers an uninterrupted run gives: every random draw derives from
// (seed, round, client), and the checkpoint holds the rest of the state.
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { schemaOf } from "../model/index.js";
import type { Schema } from "../model/types.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { CentralEngine } from "./central-engine.js";
import { readCheckpoint, writeCheckpoint, type CheckpointEntry, type CheckpointFile } from "./checkpoint.js";
import { checkConfig, type TrainConfig } from "./config.js";
import type { Engine, Predictions } from "./engine.js";
import { metricsOf, testAucInterval } from "./evaluate.js";
import { FederatedEngine } from "./federated-engine.js";
import { defaultWorkers } from "./pool.js";
import { PREDICTIONS_JSON, predictionsFile, writePredictions } from "./predictions-file.js";
import { renderReportHtml } from "./report-html.js";
import { deriveSeed, Stream } from "./seed.js";

export const CHECKPOINT_FILE = "checkpoint.ffck";
export const REPORT_JSON = "report.json";
export const REPORT_HTML = "report.html";

export interface Progress {
  phase: "train" | "eval";
  round: number;
  rounds: number;
  /** Clients (central: users) of this phase done so far, of total. */
  done: number;
  total: number;
}

export interface RoundRow {
  round: number;
  /** Wall time of the round's training and evaluation (not of writing the checkpoint). */
  seconds: number;
  train_loss: number;
  /** Null in rounds that were not evaluated. */
  val_auc: number | null;
  val_logloss: number | null;
  test_auc: number | null;
  test_logloss: number | null;
  /** Bytes of the round's update frames (uplink) and task frames (downlink); federated regimes. */
  bytes_up?: number;
  bytes_down?: number;
  /** blocks × groups: fraction of the round's clients that chose each group (mrff). */
  group_share?: number[][];
  /** Differential privacy: ε spent after this round (at the run's δ). */
  epsilon?: number;
}

export interface Best {
  round: number;
  val_auc: number;
  val_logloss: number;
  test_auc: number;
  /** Bootstrap percentile interval (config.bootstrap resamples, 95%). */
  test_auc_ci: [number, number];
  test_logloss: number;
}

export interface TrainReport {
  config: TrainConfig;
  dataset: { users: number; items: number; interactions: number; skipped: number; skipped_users: number };
  params: { shared: number; group: number; private: number };
  workers: number;
  /** The kernel build that trained (wasm-relaxed or wasm-simd): they round differently. */
  kernels: string;
  rounds: RoundRow[];
  /** The evaluated round of highest validation AUC (the first, on ties). */
  best: Best | null;
  /** Whether every configured round ran (false when stopped early). */
  completed: boolean;
  /** Why the run stopped before its last round other than being interrupted (the privacy budget). */
  stopped?: string;
  peak_rss_mb: number;
}

export interface RunOptions {
  /** Threads that train clients (default: one per core; 0 or 1: this thread). Never changes the numbers. */
  workers?: number;
  /** Folder for the checkpoint and the reports (created); nothing is written without it. */
  out?: string;
  /** Stops after the round in progress (checkpointed, so resumeTraining continues it). */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** After every round, with the report so far. */
  onRound?: (row: RoundRow, report: TrainReport) => void;
}

export interface TrainResult {
  report: TrainReport;
  /** The last evaluation's predictions (null if no round was evaluated in this call). */
  predictions: Predictions | null;
}

export interface CheckpointHeader {
  format: 1;
  config: TrainConfig;
  /** The data set's field sizes: with the config, all a device needs to rebuild the model. */
  schema: Schema;
  /** Size of each partition's buffer (how the arrays below split into parameters). */
  params: { shared: number; group: number; private: number };
  /** Rounds completed. */
  round: number;
  history: RoundRow[];
  best: Best | null;
}

export async function train(config: TrainConfig, opts: RunOptions = {}): Promise<TrainResult> {
  checkConfig(config);
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    // a run started over in a folder must not leave the previous run's best predictions there
    rmSync(join(opts.out, PREDICTIONS_JSON), { force: true });
  }
  const engine = await createEngine(config, opts);
  return loop(engine, { format: 1, config, schema: schemaOf(engine.ds), params: engine.params, round: 0, history: [], best: null }, opts);
}

/** A run checkpoint's arrays that grow with clients × model: left in the file when it is read. */
const PER_CLIENT_ARRAYS = ["privates", "privateStates", "residuals"];

export type RunCheckpoint = CheckpointFile<CheckpointHeader, CheckpointEntry>;

/**
 * Reads a run's checkpoint: the file itself, or the run folder holding it. Every client's values
 * (privates, private optimiser states, residuals) are ArraySources reading from the file.
 */
export function readRunCheckpoint(path: string): RunCheckpoint {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, CHECKPOINT_FILE) : path;
  if (!existsSync(file)) throw new Error(`${path}: no checkpoint (${CHECKPOINT_FILE} is missing)`);
  const ck = readCheckpoint<CheckpointHeader>(file, PER_CLIENT_ARRAYS);
  if (ck.header.format !== 1) throw new Error(`${file}: checkpoint format ${ck.header.format} is not supported`);
  return ck;
}

/** Continues the run checkpointed in `out`, optionally to a different number of rounds. */
export async function resumeTraining(out: string, opts: Omit<RunOptions, "out"> & { rounds?: number } = {}): Promise<TrainResult> {
  const ck = readRunCheckpoint(out);
  // checkpoints from before compression existed sent raw updates
  const config: TrainConfig = { ...ck.header.config, compression: ck.header.config.compression ?? { kind: "f32" }, rounds: opts.rounds ?? ck.header.config.rounds };
  checkConfig(config);
  const runOpts = { ...opts, out };
  const engine = await restoreEngine(ck, config, runOpts.workers);
  return loop(engine, { ...ck.header, config }, runOpts);
}

/**
 * The engine of a checkpointed run in its checkpointed state (`config` may differ from the
 * checkpoint's in what does not shape the state: rounds, the data folder's location).
 */
export async function restoreEngine(ck: RunCheckpoint, config: TrainConfig, workers?: number): Promise<Engine> {
  const engine = await createEngine(config, { workers });
  try {
    engine.restore(ck.arrays);
  } catch (e) {
    await engine.close();
    throw new Error(`checkpoint of round ${ck.header.round}: ${(e as Error).message}`);
  }
  return engine;
}

function createEngine(config: TrainConfig, opts: RunOptions): Promise<Engine> {
  return config.regime === "central" ? CentralEngine.create(config) : FederatedEngine.create(config, opts.workers ?? defaultWorkers());
}

async function loop(engine: Engine, state: CheckpointHeader, opts: RunOptions): Promise<TrainResult> {
  const { config } = state;
  const { ds, split } = engine;
  /** Why the loop ended before the last round (the privacy budget), if it did. */
  let stopped: string | null = null;
  const report = (): TrainReport => ({
    config,
    dataset: {
      users: ds.numUsers,
      items: ds.numItems,
      interactions: ds.seqItems.length,
      skipped: ds.report.shortUserRows,
      skipped_users: ds.report.shortUsers + ds.report.idleUsers,
    },
    params: engine.params,
    workers: engine.workers,
    kernels: engine.kernels,
    rounds: state.history,
    best: state.best,
    completed: state.round >= config.rounds,
    ...(stopped !== null && { stopped }),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  });
  let predictions: Predictions | null = null;
  try {
    while (state.round < config.rounds && !opts.signal?.aborted) {
      stopped = engine.budgetStop?.() ?? null;
      if (stopped !== null) break;
      const round = state.round + 1;
      const started = performance.now();
      const progress = (phase: Progress["phase"]) => (done: number, total: number) => opts.onProgress?.({ phase, round, rounds: config.rounds, done, total });
      const stats = await engine.trainRound(round, progress("train"));
      const row: RoundRow = { round, seconds: 0, train_loss: stats.loss, val_auc: null, val_logloss: null, test_auc: null, test_logloss: null };
      if (stats.epsilon !== undefined) row.epsilon = stats.epsilon;
      if (stats.bytes) Object.assign(row, { bytes_up: stats.bytes.up, bytes_down: stats.bytes.down });
      if (stats.groupShare.length > 0) {
        const K = config.model.groups;
        row.group_share = Array.from({ length: stats.groupShare.length / K }, (_, l) => Array.from(stats.groupShare.subarray(l * K, (l + 1) * K)));
      }
      if (round % config.evalEvery === 0 || round === config.rounds) {
        predictions = await engine.evaluate(progress("eval"));
        const m = metricsOf(predictions, split);
        Object.assign(row, m);
        if (state.best === null || m.val_auc > state.best.val_auc) {
          const ci = testAucInterval(predictions, split, deriveSeed(config.seed, Stream.Bootstrap, round), config.bootstrap);
          state.best = { round, ...m, test_auc_ci: ci };
          // before the checkpoint that records this best: a run stopped between the two writes
          // resumes from the previous checkpoint and writes the same file again
          if (opts.out) writePredictions(opts.out, predictionsFile(round, ds.userIds, split, predictions));
        }
      }
      row.seconds = (performance.now() - started) / 1000;
      state.history = [...state.history, row];
      state.round = round;
      if (opts.out) {
        writeCheckpoint(join(opts.out, CHECKPOINT_FILE), { header: state, arrays: engine.save() });
        if (row.val_auc !== null) writeReports(opts.out, report());
      }
      opts.onRound?.(row, report());
    }
  } finally {
    await engine.close();
  }
  const final = report();
  if (opts.out) writeReports(opts.out, final);
  return { report: final, predictions };
}

function writeReports(out: string, r: TrainReport): void {
  // NaN (an AUC over one class) is not JSON: it is written as null
  writeFileAtomic(join(out, REPORT_JSON), JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n");
  writeFileAtomic(join(out, REPORT_HTML), renderReportHtml(r));
}
