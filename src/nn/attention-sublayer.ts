// The first half of a block (METHOD.md, step 1): Q = LayerNorm(H); H' = Q + Attn(Q, H, H), with
// causal attention over the real positions (the padding mask hides padding keys). The residual
// adds the normalised Q, not H, as the reference code does.
import { attentionParamSize } from "../kernels/kernels.js";
import { add } from "../autograd/ops/add.js";
import { attention } from "../autograd/ops/attention.js";
import { segmentsInit, constantInit, uniformInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { fanInUniform } from "./init.js";
import { LayerNorm } from "./layer-norm.js";
import type { Module } from "./module.js";

export class AttentionSublayer implements Module {
  readonly specs: readonly ParamSpec[];
  private readonly norm: LayerNorm;
  private readonly attn: string;

  constructor(readonly name: string, readonly d: number, readonly heads: number) {
    if (!(Number.isInteger(heads) && heads >= 1 && d % heads === 0)) throw new RangeError(`${name}: d = ${d} is not divisible by ${heads} heads`);
    this.norm = new LayerNorm(`${name}.ln`, d);
    this.attn = `${name}.attn`;
    // PyTorch's MultiheadAttention: Wq, Wk, Wv Xavier-uniform as one 3d×d matrix, the output
    // projection the Linear default, all biases 0
    const init = segmentsInit([
      [3 * d * d, uniformInit(Math.sqrt(6 / (4 * d)))],
      [d * d, fanInUniform(d)],
      [4 * d, constantInit(0)],
    ]);
    this.specs = [...this.norm.specs, { name: this.attn, partition: "shared", shape: [attentionParamSize(d)], init }];
  }

  /** h: [B, T, d]; mask: [B, T], 1 = real. */
  forward(tp: Tape, ps: ParamStore, h: Tensor, mask: Tensor): Tensor {
    const q = this.norm.forward(tp, ps, h);
    return add(tp, q, attention(tp, q, h, ps.get(this.attn), mask, { heads: this.heads, causal: true }));
  }
}
