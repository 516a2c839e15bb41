// What the round loop (trainer.ts) needs of a regime: train one round, predict every user's
// validation and test targets, and save / restore the state a checkpoint carries.
import type { Dataset } from "../data/dataset.js";
import type { BackendName } from "../kernels/backend.js";
import type { LeaveOneOut } from "../data/split.js";
import type { CheckpointEntry } from "./checkpoint.js";

export interface Predictions {
  /** Click probability of each user's validation and test target. */
  valid: Float64Array;
  test: Float64Array;
  /** users × blocks: the group each user's validation window chose at each block. */
  routes: Int32Array;
}

export interface RoundStats {
  /** Clients (central: users) trained this round. */
  clients: number;
  /** Mean training loss. */
  loss: number;
  /** Fraction of them that chose group k at block l ([l·groups + k]); empty without groups. */
  groupShare: Float64Array;
  /** Differential privacy: ε spent so far, this round included. */
  epsilon?: number;
  /** Bytes the round's frames took: updates up, tasks down (federated regimes only). */
  bytes?: { up: number; down: number };
}

/** Called when a phase starts (done = 0) and as its work completes: `done` of `total` clients. */
export type PhaseProgress = (done: number, total: number) => void;

export interface Engine {
  readonly ds: Dataset;
  readonly split: LeaveOneOut;
  /** Parameter count of each partition as this regime uses them. */
  readonly params: { shared: number; group: number; private: number };
  /** Threads that train (1: this one). */
  readonly workers: number;
  /** The kernel build the numbers come from: the relaxed (FMA) and plain SIMD builds round differently. */
  readonly kernels: BackendName;
  trainRound(round: number, progress: PhaseProgress): Promise<RoundStats>;
  /** Differential privacy: why the next round may not run (its budget), or null. */
  budgetStop?(): string | null;
  evaluate(progress: PhaseProgress): Promise<Predictions>;
  /** State beyond the loop's own (parameters, optimiser, routing shares); every client's values as sources. */
  save(): Record<string, CheckpointEntry>;
  restore(arrays: Record<string, CheckpointEntry>): void;
  close(): Promise<void>;
}
