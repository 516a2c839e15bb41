// One position-wise expert: Linear(d, dff) → ReLU → Linear(dff, d), with dropout on the hidden
// layer (inside the fused kernel) and on the output, as the reference's expert networks have. The
// weights are ONE slice in the fused kernel's layout [W1 | b1 | W2 | b2], so that a group expert
// is a single named slice the coordinator averages as a whole.
import { ffnParamSize } from "../kernels/kernels.js";
import { dropout } from "../autograd/ops/dropout.js";
import { ffn } from "../autograd/ops/ffn.js";
import { constantInit, segmentsInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore, Partition } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Rng } from "../util/rng.js";
import { fanInUniform } from "./init.js";
import type { Module } from "./module.js";

export class FeedForward implements Module {
  readonly specs: readonly ParamSpec[];

  /**
   * outputInit "zero" starts the second layer at 0, so the expert's output is 0 until training
   * moves it: an expert every user adds to a shared one then starts as no change (LoRA's B = 0).
   */
  constructor(readonly name: string, partition: Partition, readonly d: number, readonly dff: number, outputInit: "fan-in" | "zero" = "fan-in") {
    const init = segmentsInit([
      [d * dff + dff, fanInUniform(d)],
      [dff * d + d, outputInit === "zero" ? constantInit(0) : fanInUniform(dff)],
    ]);
    this.specs = [{ name, partition, shape: [ffnParamSize(d, dff)], init }];
  }

  /** x: [..., d] → [..., d]; p = dropout probability (0 in evaluation). */
  forward(tp: Tape, ps: ParamStore, x: Tensor, p: number, rng: Rng): Tensor {
    const y = ffn(tp, x, ps.get(this.name), { dff: this.dff, dropout: { p, rng } });
    return dropout(tp, y, p, rng);
  }
}
