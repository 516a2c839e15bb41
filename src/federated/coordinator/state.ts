// The coordinator's checkpoint, written atomically after every round (and once at the start; DP
// runs also when a round is charged to the privacy accountant, before its sum can be learned):
// settings, the next round, aggregate history, global values, routing shares and the server
// optimiser's moments. Nothing per client: updates of an unfinished round live in memory only,
// and the registry (ids and token hashes) is its own file (registry.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DataSchema } from "../../data/schema.js";
import { readCheckpoint, writeCheckpoint } from "../checkpoint.js";
import type { TrainConfig } from "../config.js";

export const STATE_FILE = "coordinator.ffck";

/** What one round's aggregation saw: aggregates only (minimal logs). */
export interface RoundSummary {
  round: number;
  /** Clients selected (over-selection included) and updates accepted. */
  selected: number;
  clients: number;
  /** Ids of the clients whose updates the aggregate holds, ascending (a replay needs them). */
  accepted: number[];
  /** Mean of the accepted clients' training losses. */
  loss: number;
  /** Σ of their scored training slots. */
  samples: number;
  /** Σ of their update frames' bytes. */
  updateBytes: number;
  /** Deadlines that passed with too few updates before it closed. */
  extensions: number;
  /** Secure rounds: attempts that aborted below the threshold before this one completed. */
  aborted?: number;
  seconds: number;
  /** DP runs: ε spent after this round. */
  epsilon?: number;
  /** DP secure rounds: the devices withhold loss and samples (their sums carry no noise), so both are 0 here. */
  withheld?: boolean;
  /** DP secure rounds that released nothing: why (too small a cohort, an aborted attempt). */
  skipped?: string;
  /**
   * DP runs: how many times the accountant was charged for this round, when more than once (a
   * coordinator that stopped after charging it re-ran it; every charge is in `epsilon`).
   */
  charges?: number;
}

export interface CoordinatorHeader {
  format: 1;
  config: TrainConfig;
  schema: DataSchema;
  /** The next round to run = rounds aggregated into the global values (the model version). */
  round: number;
  history: RoundSummary[];
  /**
   * DP runs: the 256-bit key (8 u32 words) of the Poisson sampling and the coordinator's noise
   * (util/chacha20.ts), never sent to a client. A checkpoint written before the key has a 32-bit
   * `dpSecretSeed` instead; a resumed run gets a fresh key (its released rounds are unaffected).
   */
  dpSecretKey?: number[];
  /**
   * DP runs: round `round` has been charged to the accountant `times` times (once per attempt that
   * got as far as its release) and is not applied yet. Written, with the accountant, before the
   * coordinator can learn the round's sum; cleared by the checkpoint that applies the round. A
   * coordinator resumed with it set runs the round again (if the budget allows) with a sample and
   * noise drawn afresh for attempt `times`.
   */
  dpCharged?: { round: number; times: number };
  /** DP runs: every charge so far (local noise: each may have shown the coordinator a noised sum). */
  dpCharges?: number;
}

export interface CoordinatorState {
  header: CoordinatorHeader;
  /** [shared | group] values. */
  global: Float32Array;
  /** Last round's routing shares; empty before the first round. */
  groupShare: Float64Array;
  server: { m: Float64Array; v: Float64Array; steps: Int32Array };
  /** DP runs: the privacy accountant's RDP per order. */
  dpRdp?: Float64Array;
}

export function saveState(dir: string, s: CoordinatorState): void {
  writeCheckpoint(join(dir, STATE_FILE), {
    header: s.header,
    arrays: { global: s.global, groupShare: s.groupShare, serverM: s.server.m, serverV: s.server.v, serverSteps: s.server.steps, ...(s.dpRdp && { dpRdp: s.dpRdp }) },
  });
}

/** The saved state, or null when the folder holds none. */
export function loadState(dir: string): CoordinatorState | null {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return null;
  const { header, arrays } = readCheckpoint<CoordinatorHeader>(path);
  const bad = (why: string) => new Error(`${path}: not a coordinator checkpoint (${why})`);
  if (header?.format !== 1 || !Number.isInteger(header.round) || !Array.isArray(header.history)) throw bad("unknown header");
  const { global, groupShare, serverM, serverV, serverSteps, dpRdp } = arrays;
  if (!(global instanceof Float32Array)) throw bad("'global' is missing");
  if (!(groupShare instanceof Float64Array)) throw bad("'groupShare' is missing");
  if (!(serverM instanceof Float64Array && serverV instanceof Float64Array && serverSteps instanceof Int32Array)) throw bad("the server optimiser's state is missing");
  if (dpRdp !== undefined && !(dpRdp instanceof Float64Array)) throw bad("'dpRdp' is not f64");
  return { header, global, groupShare, server: { m: serverM, v: serverV, steps: serverSteps }, ...(dpRdp && { dpRdp }) };
}
