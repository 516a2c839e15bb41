// What a device keeps between rounds and across restarts: its registration, its private values,
// the error-feedback residuals of a compressing codec, and an update it has sent but not yet seen
// accepted. Private values and residuals change only when the coordinator accepts the update they
// came with, so the device's state is always the one a replay of the accepted updates computes.

export interface Identity {
  client: number;
  token: string;
}

/** Per-partition residuals of what compression dropped (empty without compression). */
export type Residuals = Record<string, Float32Array>;

/** An update sent (or about to be) whose acceptance is not known yet. */
export interface PendingUpdate {
  round: number;
  /** The encoded update frame, resent as is after a restart. */
  frame: Uint8Array;
  /** The state to commit once the coordinator has the update. */
  private: Float32Array;
  residuals: Residuals;
}

export interface ClientState {
  /** The dataset user id this state belongs to (a state never moves between users). */
  user: number;
  identity: Identity | null;
  /** Last round whose update was accepted (0: none yet). */
  round: number;
  /** Null until the first accepted update: the run's initial private values apply. */
  private: Float32Array | null;
  residuals: Residuals;
  pending: PendingUpdate | null;
}

export function freshState(user: number): ClientState {
  return { user, identity: null, round: 0, private: null, residuals: {}, pending: null };
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
  if (o.identity !== null) {
    const id = o.identity as Record<string, unknown> | undefined;
    if (!(id && Number.isInteger(id.client) && typeof id.token === "string")) bad("'identity' needs an integer client and a string token");
  }
  if (o.private !== null && !(o.private instanceof Float32Array)) bad("'private' is not a Float32Array");
  checkResiduals(o.residuals, "residuals", bad);
  if (o.pending !== null) {
    const p = o.pending as Record<string, unknown> | undefined;
    if (!(p && Number.isInteger(p.round) && p.frame instanceof Uint8Array && p.private instanceof Float32Array)) bad("'pending' needs a round, a frame and private values");
    checkResiduals(p!.residuals, "pending.residuals", bad);
  }
  return o as unknown as ClientState;
}

function checkResiduals(r: unknown, name: string, bad: (what: string) => never): void {
  if (typeof r !== "object" || r === null) bad(`'${name}' is not an object`);
  for (const [k, v] of Object.entries(r as object)) if (!(v instanceof Float32Array)) bad(`'${name}.${k}' is not a Float32Array`);
}
