// The worker's side of robust aggregation: a robust rule needs every client's update at the
// coordinator, not a chunk's sum, so the worker returns each client's delta (trained − global) for
// the shared partition and for the expert it chose at each block. Rows keep the chunk's client
// order (client-id order), so the coordinator sees the same rows for any worker count.
import type { ParamStore } from "../../autograd/params.js";
import type { ClientDelta, GroupLayout } from "../aggregate.js";

/**
 * Where a client's row holds what: the shared delta at [0, shared), then block l's chosen expert at
 * [blockStart[l], blockStart[l] + expertSize[l]).
 */
export interface RowLayout {
  shared: number;
  blockStart: Int32Array;
  expertSize: Int32Array;
  length: number;
}

/** The row layout for a model (every expert of a block has one size, checked). */
export function rowLayout(sharedSize: number, layout: GroupLayout | null): RowLayout {
  const blocks = layout ? layout.blocks : 0;
  const blockStart = new Int32Array(blocks);
  const expertSize = new Int32Array(blocks);
  let at = sharedSize;
  for (let l = 0; l < blocks; l++) {
    const size = layout!.size[l * layout!.groups]!;
    for (let k = 1; k < layout!.groups; k++) {
      if (layout!.size[l * layout!.groups + k] !== size) throw new Error(`rowLayout: the experts of block ${l} differ in size`);
    }
    blockStart[l] = at;
    expertSize[l] = size;
    at += size;
  }
  return { shared: sharedSize, blockStart, expertSize, length: at };
}

/** What a worker returns for one chunk in delta mode. */
export interface DeltaChunk {
  /** Position of the chunk in the round's chunk list. */
  chunk: number;
  /** The chunk's clients, in order. */
  clients: Int32Array;
  /** clients × RowLayout.length: one delta row per client. */
  deltas: Float32Array;
  /** clients × blocks: the group each client chose at each block. */
  routes: Int32Array;
  /** Each client's aggregation weight (1, or its sample count). */
  weights: Float64Array;
  /** Σ of the clients' training losses. */
  loss: number;
  /** Σ of the scored training slots. */
  samples: number;
  /** Σ of the clients' update frames' bytes. */
  bytesUp: number;
}

/**
 * One client's update as the network coordinator reads it (coordinator/update.ts) as chunk `chunk`
 * of one row: the coordinator hands its accepted updates to DeltaAggregator this way, one chunk per
 * client in client-id order, so that a networked round aggregates as the in-process engine does.
 * Its bytesUp is 0: the coordinator counts the round's bytes itself. Throws a RangeError when the
 * update does not fit the layout.
 */
export function clientChunk(rows: RowLayout, chunk: number, client: number, d: ClientDelta): DeltaChunk {
  const blocks = rows.blockStart.length;
  if (d.shared.length !== rows.shared) throw new RangeError(`clientChunk: client ${client}'s shared delta has ${d.shared.length} values, expected ${rows.shared}`);
  if (d.experts.length !== blocks || d.routes.length < blocks) throw new RangeError(`clientChunk: client ${client} sent ${d.experts.length} experts and ${d.routes.length} routes for ${blocks} blocks`);
  const deltas = new Float32Array(rows.length);
  deltas.set(d.shared, 0);
  for (let l = 0; l < blocks; l++) {
    const e = d.experts[l]!;
    if (e.length !== rows.expertSize[l]) throw new RangeError(`clientChunk: client ${client}'s expert delta at block ${l} has ${e.length} values, expected ${rows.expertSize[l]}`);
    deltas.set(e, rows.blockStart[l]!);
  }
  // a model without experts (fedsasrec) still has a route per block on the wire, all 0: none is kept
  const routes = Int32Array.from({ length: blocks }, (_, l) => d.routes[l]!);
  return { chunk, clients: Int32Array.of(client), deltas, routes, weights: Float64Array.of(d.weight), loss: d.loss, samples: d.samples, bytesUp: 0 };
}

/** Collects a chunk's delta rows from the trained values in a ParamStore. */
export class DeltaRecorder {
  private chunk: DeltaChunk | null = null;
  private filled = 0;

  constructor(
    private readonly store: ParamStore,
    private readonly layout: GroupLayout | null,
    readonly rows: RowLayout,
  ) {}

  /** Starts a chunk of these clients. */
  begin(chunk: number, clients: Int32Array): void {
    const n = clients.length;
    const blocks = this.rows.blockStart.length;
    this.chunk = { chunk, clients: Int32Array.from(clients), deltas: new Float32Array(n * this.rows.length), routes: new Int32Array(n * blocks), weights: new Float64Array(n), loss: 0, samples: 0, bytesUp: 0 };
    this.filled = 0;
  }

  /**
   * Records the next client of the chunk: its trained values are in the store now, `global` holds
   * the round's [shared | group] values it started from; its update took `bytes` on the wire.
   */
  add(global: Float32Array, w: number, routes: ArrayLike<number>, loss: number, samples: number, bytes: number): void {
    const c = this.chunk;
    if (!c || this.filled >= c.clients.length) throw new Error("DeltaRecorder: more clients than the chunk holds");
    const i = this.filled++;
    const f = this.store.be.f;
    const R = this.rows;
    const row = c.deltas.subarray(i * R.length, (i + 1) * R.length);
    const shared = this.store.buffer("shared").values;
    for (let j = 0; j < R.shared; j++) row[j] = f[shared + j]! - global[j]!;
    const lay = this.layout;
    if (lay) {
      const group = this.store.buffer("group").values;
      for (let l = 0; l < lay.blocks; l++) {
        const k = routes[l]!;
        if (!(Number.isInteger(k) && k >= 0 && k < lay.groups)) throw new RangeError(`DeltaRecorder: route ${k} at block ${l} is not a group in [0, ${lay.groups})`);
        const start = lay.start[l * lay.groups + k]!;
        const at = R.blockStart[l]!;
        for (let j = 0; j < R.expertSize[l]!; j++) row[at + j] = f[group + start + j]! - global[R.shared + start + j]!;
        c.routes[i * lay.blocks + l] = k;
      }
    }
    c.weights[i] = w;
    c.loss += loss;
    c.samples += samples;
    c.bytesUp += bytes;
  }

  /** The finished chunk (its arrays are handed over). */
  result(): DeltaChunk {
    const c = this.chunk;
    if (!c || this.filled !== c.clients.length) throw new Error(`DeltaRecorder: ${this.filled} of ${c?.clients.length ?? 0} clients recorded`);
    this.chunk = null;
    return c;
  }
}
