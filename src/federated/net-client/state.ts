// What a device keeps between rounds and across restarts: its registration, its private values,
// the error-feedback residuals of a compressing codec, and an update it has sent but not yet seen
// accepted. Private values and residuals change only when the coordinator accepts the update they
// came with, so the device's state is always the one a replay of the accepted updates computes.

import type { RegisteredAs } from "./protocol.js";

/** Per-partition residuals of what compression dropped (empty without compression). */
export type Residuals = Record<string, Float32Array>;

/**
 * The outcome of a round's training whose update is not yet known to be in an aggregate. Nothing
 * needs resending after a restart: a coordinator without the update offers the round's task again,
 * and retraining on it gives the same update (training is a pure function).
 */
export interface PendingUpdate {
  round: number;
  /** The state to commit once an aggregate holds the update. */
  private: Float32Array;
  residuals: Residuals;
}

export interface ClientState {
  /** The dataset user id this state belongs to (a state never moves between users). */
  user: number;
  /** The registration in use (null: register first); it carries the run's settings. */
  registration: RegisteredAs | null;
  /** Last round whose update was accepted (0: none yet). */
  round: number;
  /** Null until the first accepted update: the run's initial private values apply. */
  private: Float32Array | null;
  residuals: Residuals;
  pending: PendingUpdate | null;
}

export function freshState(user: number): ClientState {
  return { user, registration: null, round: 0, private: null, residuals: {}, pending: null };
}

/** Durable storage of one device's state; save replaces the whole state at once. */
export interface StateStore {
  /** The saved state, or null when there is none yet. */
  load(): Promise<ClientState | null>;
  save(state: ClientState): Promise<void>;
}

/** Keeps the state in memory (a browser tab without storage, tests); it holds copies. */
export class MemoryStateStore implements StateStore {
  private state: ClientState | null = null;

  async load(): Promise<ClientState | null> {
    return this.state && structuredClone(this.state);
  }

  async save(state: ClientState): Promise<void> {
    this.state = structuredClone(state);
  }
}

/** Throws unless `s` has the shape of a ClientState (stores read it back from outside storage). */
export function checkState(s: unknown, where: string): ClientState {
  const bad = (what: string): never => {
    throw new Error(`${where}: not a fedfacet client state (${what})`);
  };
  if (typeof s !== "object" || s === null) return bad("not an object");
  const o = s as Record<string, unknown>;
  if (!Number.isInteger(o.user)) bad("'user' is not an integer");
  if (!(Number.isInteger(o.round) && (o.round as number) >= 0)) bad("'round' is not an integer >= 0");
  if (o.registration !== null) {
    const r = o.registration as Record<string, unknown> | undefined;
    if (!(r && Number.isInteger(r.client) && typeof r.token === "string" && typeof r.config === "object" && typeof r.schema === "object")) bad("'registration' needs a client id, a token, a config and a schema");
  }
  if (o.private !== null && !(o.private instanceof Float32Array)) bad("'private' is not a Float32Array");
  checkResiduals(o.residuals, "residuals", bad);
  if (o.pending !== null) {
    const p = o.pending as Record<string, unknown> | undefined;
    if (!(p && Number.isInteger(p.round) && p.private instanceof Float32Array)) bad("'pending' needs a round and private values");
    checkResiduals(p!.residuals, "pending.residuals", bad);
  }
  return o as unknown as ClientState;
}

function checkResiduals(r: unknown, name: string, bad: (what: string) => never): void {
  if (typeof r !== "object" || r === null) bad(`'${name}' is not an object`);
  for (const [k, v] of Object.entries(r as object)) if (!(v instanceof Float32Array)) bad(`'${name}.${k}' is not a Float32Array`);
}
