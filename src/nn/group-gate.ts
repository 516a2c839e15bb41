// The group gate of one block (METHOD.md, step 3): g = softmax(W_g [mean over real positions of X ;
// e_u] + b_g) over the K groups, and the hard top-1 choice k = argmax g per row (one group per user
// per block). The choice is not differentiable: the gate learns through g_k wherever g_k is used
// (the balance loss, and the expert output under the gate-weighted option).
import { concatCols } from "../autograd/ops/concat.js";
import { selectRows } from "../autograd/ops/embedding.js";
import { linear } from "../autograd/ops/linear.js";
import { maskedMean } from "../autograd/ops/mean.js";
import { softmaxRows } from "../autograd/ops/softmax.js";
import { reshape } from "../autograd/ops/view.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { indexTensor } from "./fill.js";
import { fanInUniform } from "./init.js";
import type { Module } from "./module.js";

export interface GateResult {
  /** g: [B, K]. */
  probs: Tensor;
  /** Chosen group of each row: the first largest g. */
  routes: Int32Array;
}

export class GroupGate implements Module {
  readonly specs: readonly ParamSpec[];
  private readonly w: string;
  private readonly b: string;

  /** d: width of X; du: width of e_u; groups: K. */
  constructor(readonly name: string, readonly d: number, readonly du: number, readonly groups: number) {
    if (!(Number.isInteger(groups) && groups >= 1)) throw new RangeError(`${name}: bad group count ${groups}`);
    this.w = `${name}.w`;
    this.b = `${name}.b`;
    const init = fanInUniform(d + du);
    this.specs = [
      { name: this.w, partition: "shared", shape: [d + du, groups], init },
      { name: this.b, partition: "shared", shape: [groups], init },
    ];
  }

  /** x: [B, T, d] (padding zeroed); mask: [B, T]; eu: [B, du]. A row with no real position is summarised by 0. */
  forward(tp: Tape, ps: ParamStore, x: Tensor, mask: Tensor, eu: Tensor): GateResult {
    const summary = concatCols(tp, [maskedMean(tp, x, mask), eu]);
    const probs = softmaxRows(tp, linear(tp, summary, ps.get(this.w), ps.get(this.b)));
    const K = this.groups;
    const B = probs.rows;
    const routes = new Int32Array(B);
    const f = tp.be.f;
    for (let r = 0; r < B; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (f[probs.offset + r * K + k]! > f[probs.offset + r * K + best]!) best = k;
      routes[r] = best;
    }
    return { probs, routes };
  }
}

/** g[b, k_b] for the rows b = rowAt(j), j < n, each repeated `repeat` times: [n·repeat, 1]. */
export function chosenProbability(tp: Tape, gate: GateResult, n: number, rowAt: (j: number) => number, repeat: number): Tensor {
  const K = gate.probs.cols;
  const flat = reshape(tp, gate.probs, [gate.probs.size, 1]);
  const idx = indexTensor(tp, [n * repeat], (j) => {
    const b = rowAt((j / repeat) | 0);
    return b * K + gate.routes[b]!;
  });
  return selectRows(tp, flat, idx);
}
