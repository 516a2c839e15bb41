// The group gate of one block (METHOD.md, step 3): g = softmax(W_g [mean over real positions of X ;
// e_u] + b_g) over the K groups, and the hard top-1 choice k = argmax g per row (one group per user
// per block). The choice is not differentiable: the gate learns through g_k wherever g_k is used
// (the balance loss, and the expert output under the gate-weighted option).
// [ours] Under the gate-clicks option the summary also holds the mean of X over the clicked
// positions minus its mean over the others: what a user clicks, not what it was shown, tells its
// tastes apart (shown items are the same for everybody; a plain mean of X cannot express the
// item×click interaction), and e_u alone is private, so it drifts per client and the shared W_g
// cannot read it consistently.
import { add } from "../autograd/ops/add.js";
import { concatCols } from "../autograd/ops/concat.js";
import { selectRows } from "../autograd/ops/embedding.js";
import { linear } from "../autograd/ops/linear.js";
import { maskedMean } from "../autograd/ops/mean.js";
import { softmaxRows } from "../autograd/ops/softmax.js";
import { scale } from "../autograd/ops/scale.js";
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

  /** d: width of X; du: width of e_u; groups: K; clicks: the summary holds the clicked − unclicked mean of X. */
  constructor(readonly name: string, readonly d: number, readonly du: number, readonly groups: number, readonly clicks = false) {
    if (!(Number.isInteger(groups) && groups >= 1)) throw new RangeError(`${name}: bad group count ${groups}`);
    this.w = `${name}.w`;
    this.b = `${name}.b`;
    const width = (clicks ? 2 * d : d) + du;
    const init = fanInUniform(width);
    this.specs = [
      { name: this.w, partition: "shared", shape: [width, groups], init },
      { name: this.b, partition: "shared", shape: [groups], init },
    ];
  }

  /**
   * x: [B, T, d] (padding zeroed); mask: [B, T]; eu: [B, du]; clicked and unclicked: [B, T] masks of
   * the real positions clicked and not (needed under the gate-clicks option). A row with no real
   * position (or none clicked, or none unclicked) is summarised by 0 there.
   */
  forward(tp: Tape, ps: ParamStore, x: Tensor, mask: Tensor, eu: Tensor, clicked?: Tensor, unclicked?: Tensor): GateResult {
    const parts = [maskedMean(tp, x, mask)];
    if (this.clicks) {
      if (!clicked || !unclicked) throw new RangeError(`${this.name}: the gate-clicks option needs the click masks`);
      parts.push(add(tp, maskedMean(tp, x, clicked), scale(tp, maskedMean(tp, x, unclicked), -1)));
    }
    const summary = concatCols(tp, [...parts, eu]);
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
