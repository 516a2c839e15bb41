// The coordinator's side of robust aggregation in one process: keeps every chunk's delta rows
// (placed by chunk index, so arrival order does not matter), then applies a rule per partition —
// the shared partition over every participant, expert (l, k) over the participants that chose k at
// block l (an expert nobody chose keeps its value), a shared tensor with a rule of its own by that
// rule (tensor-rules.ts) — and hands the results to the server optimiser
// as the round's averages, global + aggregated delta. FoolsGold's trust is computed once per round,
// on the shared partition's rows (what every participant trains), and reused for every expert.
import type { Backend } from "../../kernels/backend.js";
import type { GroupLayout, RoundTotals } from "../aggregate.js";
import type { ServerOptimizer } from "../server-opt.js";
import { aggregateRows } from "./aggregate-rows.js";
import type { DeltaChunk, RowLayout } from "./client-deltas.js";
import { foolsGoldTrust } from "./foolsgold.js";
import { kindsOf, ruleOf, type AggregatorConfig } from "./rules.js";
import { aggregateTensors, type TensorUnit } from "./tensor-rules.js";

export class DeltaAggregator {
  private readonly chunks = new Map<number, DeltaChunk>();
  /** The round's averages, [shared | group] (only aggregated ranges are read). */
  private readonly averages: Float64Array;
  private readonly foolsGold: boolean;

  constructor(
    private readonly config: AggregatorConfig,
    private readonly rows: RowLayout,
    private readonly layout: GroupLayout | null,
    groupSize: number,
    /** The shared tensors with a rule of their own (config.tensors resolved, tensor-rules.ts). */
    private readonly units: readonly TensorUnit[],
    /** Runs FoolsGold's Gram matrix (needed only when a partition takes foolsgold). */
    private readonly kernels: Backend | null = null,
  ) {
    this.averages = new Float64Array(rows.shared + groupSize);
    this.foolsGold = kindsOf(config).includes("foolsgold");
    if (this.foolsGold) {
      if (rows.shared === 0) throw new RangeError("aggregator foolsgold compares the clients' shared-partition updates, but the model has no shared partition");
      if (!kernels) throw new RangeError("DeltaAggregator: foolsgold needs a kernel backend");
    }
  }

  /** Takes a chunk's rows in any order. */
  add(d: DeltaChunk): void {
    if (this.chunks.has(d.chunk)) throw new Error(`DeltaAggregator: chunk ${d.chunk} arrived twice`);
    const n = d.clients.length;
    if (d.deltas.length !== n * this.rows.length) throw new RangeError(`DeltaAggregator: chunk ${d.chunk} has ${d.deltas.length} values for ${n} clients of ${this.rows.length}`);
    this.chunks.set(d.chunk, d);
  }

  /** Moves `global` to the round's aggregates (through `server`) and starts over. */
  finish(global: Float32Array, chunks: number, server: ServerOptimizer): RoundTotals {
    const list: DeltaChunk[] = [];
    for (let c = 0; c < chunks; c++) {
      const d = this.chunks.get(c);
      if (!d) throw new Error(`DeltaAggregator: chunk ${c} of ${chunks} is missing`);
      list.push(d);
    }
    if (this.chunks.size !== chunks) throw new Error(`DeltaAggregator: ${this.chunks.size} chunks for a round of ${chunks}`);
    const R = this.rows;
    const all = list.flatMap((d) => Array.from(d.clients, (id, i) => ({ d, i, id, trust: 1 })));
    const rowOf = (e: (typeof all)[number], from: number, size: number) => e.d.deltas.subarray(e.i * R.length + from, e.i * R.length + from + size);
    const avg = this.averages;
    const trust = this.foolsGold && all.length > 0 ? foolsGoldTrust(this.kernels!, all.map((e) => rowOf(e, 0, R.shared))) : new Float64Array(all.length).fill(1);
    all.forEach((e, k) => (e.trust = trust[k]!));
    if (all.length > 0 && R.shared > 0) {
      const out = new Float64Array(R.shared);
      aggregateTensors(ruleOf(this.config, "shared"), this.units, { rows: all.map((e) => rowOf(e, 0, R.shared)), clients: all.map((e) => e.id), weights: all.map((e) => e.d.weights[e.i]!), trust }, out);
      for (let j = 0; j < R.shared; j++) avg[j] = global[j]! + out[j]!;
      server.apply(global, avg, 0, R.shared, 1);
    }
    const lay = this.layout;
    const cells = lay ? lay.blocks * lay.groups : 0;
    const groupShare = new Float64Array(cells);
    for (let cell = 0; cell < cells; cell++) {
      const l = Math.floor(cell / lay!.groups);
      const routed = all.filter((e) => e.d.routes[e.i * lay!.blocks + l] === cell % lay!.groups);
      groupShare[cell] = all.length > 0 ? routed.length / all.length : 0;
      if (routed.length === 0) continue;
      const size = R.expertSize[l]!;
      const out = new Float64Array(size);
      aggregateRows(ruleOf(this.config, "group"), { rows: routed.map((e) => rowOf(e, R.blockStart[l]!, size)), clients: routed.map((e) => e.id), weights: routed.map((e) => e.d.weights[e.i]!), trust: routed.map((e) => e.trust) }, out);
      const from = R.shared + lay!.start[cell]!;
      for (let j = 0; j < size; j++) avg[from + j] = global[from + j]! + out[j]!;
      server.apply(global, avg, from, from + size, 1);
    }
    let loss = 0;
    let samples = 0;
    let bytesUp = 0;
    for (const d of list) {
      loss += d.loss;
      samples += d.samples;
      bytesUp += d.bytesUp;
    }
    this.chunks.clear();
    return { clients: all.length, loss: all.length > 0 ? loss / all.length : NaN, samples, groupShare, bytesUp };
  }
}
