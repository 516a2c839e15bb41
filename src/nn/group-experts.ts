// The K group experts of one block, genuinely distinct (each its own FeedForward slice; the
// reference code builds K references to ONE module, so its groups collapse into one). Each row of
// the batch (a user) goes through the expert its gate chose; only the chosen experts run and only
// they receive gradients. A batch routed to one expert (always so for a single client) runs it
// directly; a mixed batch is sorted by expert, each contiguous run goes through its expert, and
// the outputs are put back in batch order.
import { concatRows } from "../autograd/ops/concat.js";
import { selectRows } from "../autograd/ops/embedding.js";
import { reshape, sliceRows } from "../autograd/ops/view.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Rng } from "../util/rng.js";
import { FeedForward } from "./feed-forward.js";
import { indexTensor } from "./fill.js";
import { specsOf, type Module } from "./module.js";

export class GroupExperts implements Module {
  readonly specs: readonly ParamSpec[];
  readonly experts: readonly FeedForward[];

  /** names[k]: the group-partition slice of expert k. */
  constructor(names: readonly string[], d: number, dff: number) {
    if (names.length === 0) throw new RangeError("GroupExperts: no experts");
    this.experts = names.map((name) => new FeedForward(name, "group", d, dff));
    this.specs = specsOf(this.experts);
  }

  /** x: [B, T, d]; routes: the expert of each of the B rows → [B, T, d]. */
  forward(tp: Tape, ps: ParamStore, x: Tensor, routes: Int32Array, p: number, rng: Rng): Tensor {
    const B = x.shape[0]!;
    const K = this.experts.length;
    if (routes.length !== B) throw new RangeError(`GroupExperts: ${routes.length} routes for ${B} rows`);
    const count = new Int32Array(K);
    for (const k of routes) {
      if (!(k >= 0 && k < K)) throw new RangeError(`GroupExperts: route ${k} outside 0..${K - 1}`);
      count[k]!++;
    }
    const only = count.indexOf(B);
    if (only >= 0) return this.experts[only]!.forward(tp, ps, x, p, rng);

    // stable counting sort of the rows by expert: order[j] = row at sorted position j
    const start = new Int32Array(K + 1);
    for (let k = 0; k < K; k++) start[k + 1] = start[k]! + count[k]!;
    const order = new Int32Array(B);
    const placed = start.slice(0, K);
    const slot = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      slot[b] = placed[routes[b]!]!++;
      order[slot[b]!] = b;
    }
    const perRow = x.size / B;
    const sorted = selectRows(tp, reshape(tp, x, [B, perRow]), indexTensor(tp, [B], (j) => order[j]!));
    const parts: Tensor[] = [];
    for (let k = 0; k < K; k++) {
      if (count[k] === 0) continue;
      const run = reshape(tp, sliceRows(tp, sorted, start[k]!, start[k + 1]!), [count[k]!, ...x.shape.slice(1)]);
      parts.push(reshape(tp, this.experts[k]!.forward(tp, ps, run, p, rng), [count[k]!, perRow]));
    }
    const back = selectRows(tp, concatRows(tp, parts), indexTensor(tp, [B], (b) => slot[b]!));
    return reshape(tp, back, x.shape);
  }
}
