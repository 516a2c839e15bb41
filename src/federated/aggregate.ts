// Aggregation of a round (METHOD.md "Federated procedure"): shared parameters are averaged over
// all participants; group expert (l, k) over the participants that routed to k at block l, and
// keeps its value when nobody did; private parameters never get here.
//
// Sums are bit-identical for any number of workers because their order is fixed: participants are
// cut, in client-id order, into chunks of a fixed size; a worker sums one chunk's clients in order
// (ChunkSums, f32 kernels in its own memory) and the coordinator adds the chunk sums in chunk order
// (Aggregator, f64), whatever order they arrive in.
import type { ParamStore } from "../autograd/params.js";
import type { Recommender } from "../model/types.js";
import type { Release } from "./dp-aggregation.js";
import type { ServerOptimizer } from "./server-opt.js";
import { addTouched, stretchToTouched } from "./touched-average.js";

/** Where each group expert (block l, group k) sits in the group partition. */
export interface GroupLayout {
  blocks: number;
  groups: number;
  /** Element offset of expert (l, k) in the group partition, at [l·groups + k]. */
  start: Int32Array;
  size: Int32Array;
}

/**
 * The experts' layout, checked to cover the whole group partition (a group parameter that is not
 * an expert would never be aggregated). Null when the group partition is empty (fedsasrec, local).
 */
export function groupLayout(model: Recommender, store: ParamStore): GroupLayout | null {
  const total = store.buffer("group").size;
  if (total === 0) return null;
  const { blocks, groups } = model.config;
  const start = new Int32Array(blocks * groups);
  const size = new Int32Array(blocks * groups);
  const names = new Set(store.names("group"));
  for (let l = 0; l < blocks; l++) {
    for (let k = 0; k < groups; k++) {
      const s = store.slice(model.groupParam(l, k));
      if (s.partition !== "group") throw new Error(`groupLayout: expert '${s.name}' is in the ${s.partition} partition`);
      names.delete(s.name);
      start[l * groups + k] = s.start;
      size[l * groups + k] = s.size;
    }
  }
  if (names.size > 0) throw new Error(`groupLayout: group parameters that are no expert: ${[...names].join(", ")}`);
  return { blocks, groups, start, size };
}

/** What a worker returns for one chunk of a round's participants. */
export interface ChunkResult {
  /** Position of the chunk in the round's chunk list. */
  chunk: number;
  /** Σ w·shared values, then Σ w·expert values laid out as the group partition. */
  sums: Float32Array;
  /** Σ w over the clients routed to (l, k), at [l·groups + k]. */
  groupWeight: Float64Array;
  /** Clients routed to (l, k). */
  routeCount: Int32Array;
  /** Σ w over the chunk's clients. */
  weight: number;
  clients: number;
  /** Σ of the clients' training losses (mean over their local steps). */
  loss: number;
  /** Σ of the scored training slots. */
  samples: number;
  /** Σ of the clients' update frame sizes (bytes sent up). */
  bytesUp: number;
  /** Touched averaging (touched-average.ts): per shared value, Σ w over the clients that changed it. */
  touched?: Float64Array;
}

/** The arrays of a ChunkResult, which a runner fills for one chunk and the coordinator hands back. */
export type ChunkArrays = Pick<ChunkResult, "sums" | "groupWeight" | "routeCount" | "touched">;

/**
 * One chunk's running sums, kept in backend memory next to the worker's ParamStore so that adding
 * a client is one axpy per partition (shared) and per block (its chosen expert).
 *
 * The result's arrays are reused: the coordinator hands each result back (recycle) once it has
 * folded it, and the next chunk is written into it. Fresh arrays per chunk (0.5 MB at KuaiSAR-R
 * scale) outlive the chunk's training, so V8 promotes them to the old generation, and a worker's
 * small, steady heap runs an old-generation GC only every few dozen rounds: tens of MB of dead
 * arrays piled up per thread in between (bench/results/memory-growth.md).
 */
export class ChunkSums {
  private readonly sums: number;
  private readonly sharedSize: number;
  private readonly groupSize: number;
  /** blocks × groups (0 without a group partition). */
  private readonly cells: number;
  /** Arrays handed back by the coordinator, for the next chunks. */
  private readonly spare: ChunkArrays[] = [];
  /** The chunk's arrays, from clear() until result() hands them over. */
  private out: ChunkArrays | null = null;
  /** Whether a client of the chunk counted its changed values (touched averaging). */
  private touchedUsed = false;
  private weight = 0;
  private clients = 0;
  private loss = 0;
  private samples = 0;
  private bytesUp = 0;

  constructor(private readonly store: ParamStore, readonly layout: GroupLayout | null) {
    this.sharedSize = store.buffer("shared").size;
    this.groupSize = store.buffer("group").size;
    this.sums = store.be.alloc(this.sharedSize + this.groupSize);
    this.cells = layout ? layout.blocks * layout.groups : 0;
  }

  /** Starts a new chunk. */
  clear(): void {
    this.store.be.f.fill(0, this.sums, this.sums + this.sharedSize + this.groupSize);
    const out = this.out ?? this.spare.pop() ?? { sums: new Float32Array(this.sharedSize + this.groupSize), groupWeight: new Float64Array(this.cells), routeCount: new Int32Array(this.cells) };
    out.groupWeight.fill(0);
    out.routeCount.fill(0);
    out.touched?.fill(0);
    this.out = out;
    this.touchedUsed = false;
    this.weight = this.clients = this.loss = this.samples = this.bytesUp = 0;
  }

  /**
   * Adds the client whose trained values are in the store now, with weight w, routed to
   * routes[l] at block l; its update took `bytes` on the wire. `allExperts`: its whole group
   * buffer (a DP client's message in local mode, noise on the experts it did not choose too), not
   * only the chosen experts. `globalAt`: where the round's shared values sit in backend memory,
   * to count which ones the client changed (touched averaging); absent under plain FedAvg.
   */
  add(w: number, routes: ArrayLike<number>, loss: number, samples: number, bytes: number, allExperts = false, globalAt?: number): void {
    const out = this.out;
    if (!out) throw new Error("ChunkSums: add before clear");
    const be = this.store.be;
    if (this.sharedSize > 0) be.axpy(this.sums, this.store.buffer("shared").values, this.sharedSize, w);
    if (globalAt !== undefined) {
      this.touchedUsed = true;
      addTouched(be.f, this.store.buffer("shared").values, globalAt, this.sharedSize, w, (out.touched ??= new Float64Array(this.sharedSize)));
    }
    const lay = this.layout;
    if (lay) {
      const group = this.store.buffer("group").values;
      if (allExperts) be.axpy(this.sums + this.sharedSize, group, this.groupSize, w);
      for (let l = 0; l < lay.blocks; l++) {
        const k = routes[l]!;
        if (!(Number.isInteger(k) && k >= 0 && k < lay.groups)) throw new RangeError(`ChunkSums: route ${k} at block ${l} is not a group in [0, ${lay.groups})`);
        const cell = l * lay.groups + k;
        if (!allExperts) be.axpy(this.sums + this.sharedSize + lay.start[cell]!, group + lay.start[cell]!, lay.size[cell]!, w);
        out.groupWeight[cell] += w;
        out.routeCount[cell]++;
      }
    }
    this.weight += w;
    this.clients++;
    this.loss += loss;
    this.samples += samples;
    this.bytesUp += bytes;
  }

  /** The chunk's sums, copied out of backend memory, in arrays that are the caller's until it recycles them. */
  result(chunk: number): ChunkResult {
    const out = this.out;
    if (!out) throw new Error("ChunkSums: result before clear");
    this.out = null;
    const n = this.sharedSize + this.groupSize;
    out.sums.set(this.store.be.f.subarray(this.sums, this.sums + n));
    return {
      chunk,
      sums: out.sums,
      groupWeight: out.groupWeight,
      routeCount: out.routeCount,
      weight: this.weight,
      clients: this.clients,
      loss: this.loss,
      samples: this.samples,
      bytesUp: this.bytesUp,
      ...(this.touchedUsed ? { touched: out.touched! } : {}),
    };
  }

  /** Takes back the arrays of a result of this ChunkSums (or of one of the same shape), for a later chunk. */
  recycle(r: ChunkArrays): void {
    const n = this.sharedSize + this.groupSize;
    if (r.sums.length !== n || r.groupWeight.length !== this.cells || r.routeCount.length !== this.cells || (r.touched && r.touched.length !== this.sharedSize)) {
      throw new RangeError(`ChunkSums: recycled arrays of ${r.sums.length} sums, ${r.groupWeight.length} cells, ${r.touched?.length ?? 0} touched counters; expected ${n}, ${this.cells}, ${this.sharedSize}`);
    }
    const { sums, groupWeight, routeCount, touched } = r;
    this.spare.push({ sums, groupWeight, routeCount, ...(touched ? { touched } : {}) });
  }

  dispose(): void {
    this.store.be.free(this.sums);
  }
}

/** What a round's aggregation saw. */
export interface RoundTotals {
  clients: number;
  /** Mean training loss over the participants. */
  loss: number;
  samples: number;
  /** Fraction n_k/N of the participants that chose group k at block l (next round's balance loss). */
  groupShare: Float64Array;
  /** Bytes of the participants' update frames. */
  bytesUp: number;
}

/**
 * One client's update as a network coordinator receives it: changes from the round's global values
 * (not trained values), the shared partition whole and only the expert chosen at each block.
 */
export interface ClientDelta {
  /** The client's weight in the averages (1, or its sample count). */
  weight: number;
  /** Trained minus global shared values (the whole shared partition). */
  shared: Float32Array;
  /** At [l]: trained minus global values of expert (l, routes[l]). */
  experts: readonly Float32Array[];
  routes: ArrayLike<number>;
  loss: number;
  samples: number;
}

/** A cohort's summed deltas (secure aggregation): no client's own values, uniform weights. */
export interface CohortSum {
  clients: number;
  /** Σ of the shared deltas. */
  shared: Float64Array;
  /** Σ per expert of the deltas of the clients routed to it, laid out as the group partition. */
  group: Float64Array;
  /** Clients routed to expert (l, k), at [l·groups + k]. */
  counts: ArrayLike<number>;
  /** The counts carry the devices' DP noise (secagg/noised-vector.ts): real numbers, not checked against `clients`. */
  noisyCounts?: boolean;
  /** Σ of the clients' training losses. */
  loss: number;
  samples: number;
}

/**
 * The coordinator's side: folds chunk results in chunk order (holding early arrivals back), or
 * single clients' deltas in the order they are given, then writes the new global values.
 */
export class Aggregator {
  private readonly total: Float64Array;
  private readonly groupWeight: Float64Array;
  private readonly routeCount: Float64Array;
  private readonly pending = new Map<number, ChunkResult>();
  /** Σ over chunks of ChunkResult.touched (touched averaging), from the first chunk that has it. */
  private touched: Float64Array | undefined;
  private next = 0;
  private weight = 0;
  private clients = 0;
  private loss = 0;
  private samples = 0;
  /** What the sums hold since the last finish: trained values (chunks) or deltas (clients); null when empty. */
  private holds: "values" | "deltas" | null = null;
  private bytesUp = 0;

  constructor(private readonly sharedSize: number, groupSize: number, private readonly layout: GroupLayout | null) {
    this.total = new Float64Array(sharedSize + groupSize);
    const cells = layout ? layout.blocks * layout.groups : 0;
    this.groupWeight = new Float64Array(cells);
    this.routeCount = new Float64Array(cells);
  }

  /**
   * Takes a chunk result in any order; it is folded in once every earlier chunk has been. Returns
   * the results this call folded (r and the ones it held back behind r, or none when r waits):
   * their arrays are no longer read and may be reused (ChunkSums.recycle).
   */
  add(r: ChunkResult): ChunkResult[] {
    if (r.chunk < this.next || this.pending.has(r.chunk)) throw new Error(`Aggregator: chunk ${r.chunk} arrived twice`);
    if (r.sums.length !== this.total.length) throw new RangeError(`Aggregator: chunk ${r.chunk} has ${r.sums.length} sums, expected ${this.total.length}`);
    this.hold("values");
    this.pending.set(r.chunk, r);
    const folded: ChunkResult[] = [];
    for (let c = this.pending.get(this.next); c; c = this.pending.get(this.next)) {
      this.pending.delete(this.next++);
      this.fold(c);
      folded.push(c);
    }
    return folded;
  }

  /**
   * Folds one client's deltas into the f64 sums at once: the caller fixes the order (the network
   * coordinator goes by client id), which fixes the sums' rounding. Checks every length and route
   * before it changes anything. `touched` (touched averaging): count the shared values the client
   * changed, those of a nonzero delta (the f32 difference of two f32 values is 0 only when they are
   * equal, so this is the in-process count of trained values that differ from the round's).
   */
  addDelta(d: ClientDelta, touched = false): void {
    const S = this.sharedSize;
    const lay = this.layout;
    if (d.shared.length !== S) throw new RangeError(`Aggregator: shared delta has ${d.shared.length} values, expected ${S}`);
    if (!(d.weight >= 0 && Number.isFinite(d.weight))) throw new RangeError(`Aggregator: weight ${d.weight} is not finite and >= 0`);
    const blocks = lay ? lay.blocks : 0;
    if (d.experts.length !== blocks || (lay && d.routes.length !== blocks)) throw new RangeError(`Aggregator: ${d.experts.length} expert deltas and ${d.routes.length} routes, expected ${blocks} of each`);
    for (let l = 0; l < blocks; l++) {
      const k = d.routes[l]!;
      if (!(Number.isInteger(k) && k >= 0 && k < lay!.groups)) throw new RangeError(`Aggregator: route ${k} at block ${l} is not a group in [0, ${lay!.groups})`);
      const size = lay!.size[l * lay!.groups + k]!;
      if (d.experts[l]!.length !== size) throw new RangeError(`Aggregator: expert (${l}, ${k}) delta has ${d.experts[l]!.length} values, expected ${size}`);
    }
    this.hold("deltas");
    const t = this.total;
    const w = d.weight;
    for (let j = 0; j < S; j++) t[j] += w * d.shared[j]!;
    if (touched) {
      const into = (this.touched ??= new Float64Array(S));
      for (let j = 0; j < S; j++) if (d.shared[j] !== 0) into[j] += w;
    }
    for (let l = 0; l < blocks; l++) {
      const cell = l * lay!.groups + d.routes[l]!;
      const e = d.experts[l]!;
      const from = S + lay!.start[cell]!;
      for (let j = 0; j < e.length; j++) t[from + j] += w * e[j]!;
      this.groupWeight[cell] += w;
      this.routeCount[cell]++;
    }
    this.weight += w;
    this.clients++;
    this.loss += d.loss;
    this.samples += d.samples;
  }

  /**
   * Folds the sum of a whole cohort's deltas at once, as secure aggregation reveals it: every client
   * weighs 1, the shared sum is over all `clients`, and counts[l·groups + k] clients routed to
   * expert (l, k), whose deltas `group` sums in place. Checks lengths and counts first.
   */
  addSum(s: CohortSum): void {
    const S = this.sharedSize;
    const lay = this.layout;
    const cells = this.routeCount.length;
    if (s.shared.length !== S || s.group.length !== this.total.length - S) {
      throw new RangeError(`Aggregator: a cohort sum of ${s.shared.length} shared and ${s.group.length} group values, expected ${S} and ${this.total.length - S}`);
    }
    if (s.counts.length !== cells) throw new RangeError(`Aggregator: ${s.counts.length} route counts, expected ${cells}`);
    if (!(Number.isInteger(s.clients) && s.clients >= 0)) throw new RangeError(`Aggregator: a cohort of ${s.clients} clients`);
    if (lay && !s.noisyCounts) {
      for (let l = 0; l < lay.blocks; l++) {
        let routed = 0;
        for (let k = 0; k < lay.groups; k++) routed += s.counts[l * lay.groups + k]!;
        if (routed !== s.clients) throw new RangeError(`Aggregator: block ${l} routes ${routed} clients of a cohort of ${s.clients}`);
      }
    }
    this.hold("deltas");
    const t = this.total;
    for (let j = 0; j < S; j++) t[j] += s.shared[j]!;
    for (let j = 0; j < s.group.length; j++) t[S + j] += s.group[j]!;
    for (let cell = 0; cell < cells; cell++) {
      this.groupWeight[cell] += s.counts[cell]!;
      this.routeCount[cell] += s.counts[cell]!;
    }
    this.weight += s.clients;
    this.clients += s.clients;
    this.loss += s.loss;
    this.samples += s.samples;
  }

  /**
   * Moves `global` ([shared | group] values) to the averages (through `server`) and starts over
   * for the next round. Throws if a chunk below `chunks` is missing (0 after addDelta). With
   * `release` (differential privacy, DpAggregation.release), the sums are of clipped updates (the
   * in-process clients' chunk sums, or the network clients' deltas, both at weight 1) and
   * `release` turns them into the values `server` moves to, in place of the plain averages.
   */
  finish(global: Float32Array, chunks: number, server: ServerOptimizer, release?: (total: Float64Array, routeCount: Float64Array, clients: number) => Release): RoundTotals {
    if (this.next !== chunks || this.pending.size > 0) throw new Error(`Aggregator: ${this.next} of ${chunks} chunks folded (${this.pending.size} waiting)`);
    const S = this.sharedSize;
    const lay = this.layout;
    let groupShare: Float64Array = new Float64Array(this.routeCount.length);
    if (release) {
      const r = release(this.total, this.routeCount, this.clients);
      for (const { from, to, scale } of r.ranges) server.apply(global, this.total, from, to, scale);
      groupShare = r.groupShare;
    } else {
      const deltas = this.holds === "deltas";
      // the server optimiser moves towards sums·scale, the average values: Σw·δ becomes Σw·(global + δ)
      const toValues = (from: number, to: number, weight: number) => {
        if (deltas) for (let j = from; j < to; j++) this.total[j] += weight * global[j]!;
      };
      const apply = (from: number, to: number, weight: number) => {
        toValues(from, to, weight);
        server.apply(global, this.total, from, to, 1 / weight);
      };
      if (this.weight > 0) {
        // touched averaging stretches sums of values (a client's unchanged value counts as its global one)
        toValues(0, S, this.weight);
        if (this.touched) stretchToTouched(global, this.total, this.weight, this.touched);
        server.apply(global, this.total, 0, S, 1 / this.weight);
      }
      if (lay) {
        for (let cell = 0; cell < lay.blocks * lay.groups; cell++) {
          groupShare[cell] = this.clients > 0 ? this.routeCount[cell]! / this.clients : 0;
          const w = this.groupWeight[cell]!;
          if (w === 0) continue;
          const from = S + lay.start[cell]!;
          apply(from, from + lay.size[cell]!, w);
        }
      }
    }
    const totals: RoundTotals = { clients: this.clients, loss: this.clients > 0 ? this.loss / this.clients : NaN, samples: this.samples, groupShare, bytesUp: this.bytesUp };
    this.reset();
    return totals;
  }

  private hold(what: "values" | "deltas"): void {
    if (this.holds !== null && this.holds !== what) throw new Error(`Aggregator: ${what} added to a round that sums ${this.holds}`);
    this.holds = what;
  }

  private fold(c: ChunkResult): void {
    const t = this.total;
    const s = c.sums;
    for (let j = 0; j < t.length; j++) t[j] += s[j]!;
    if (c.touched) {
      if (c.touched.length !== this.sharedSize) throw new RangeError(`Aggregator: chunk ${c.chunk} has ${c.touched.length} touched counters, expected ${this.sharedSize}`);
      const into = (this.touched ??= new Float64Array(this.sharedSize));
      for (let j = 0; j < into.length; j++) into[j] += c.touched[j]!;
    }
    for (let cell = 0; cell < this.groupWeight.length; cell++) {
      this.groupWeight[cell] += c.groupWeight[cell]!;
      this.routeCount[cell] += c.routeCount[cell]!;
    }
    this.weight += c.weight;
    this.clients += c.clients;
    this.loss += c.loss;
    this.samples += c.samples;
    this.bytesUp += c.bytesUp;
  }

  private reset(): void {
    this.total.fill(0);
    this.groupWeight.fill(0);
    this.routeCount.fill(0);
    this.touched = undefined;
    this.pending.clear();
    this.next = 0;
    this.weight = this.clients = this.loss = this.samples = this.bytesUp = 0;
    this.holds = null;
  }
}
