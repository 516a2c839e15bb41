// FedSASRec's FFN half of a block: SASRec's point-wise feed-forward with its residual,
// H = X + FFN(X), one FFN per block in the shared partition (plain FedAvg averages it with the
// rest).
import { add } from "../autograd/ops/add.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { FeedForward } from "../nn/feed-forward.js";
import type { BlockContext, BlockFfn, BlockOutput } from "./block-ffn.js";

export class ResidualFfn implements BlockFfn {
  readonly specs: readonly ParamSpec[];
  private readonly ffn: FeedForward;

  constructor(prefix: string, d: number) {
    this.ffn = new FeedForward(`${prefix}.ffn`, "shared", d, d);
    this.specs = this.ffn.specs;
  }

  forward(tp: Tape, ps: ParamStore, x: Tensor, ctx: BlockContext): BlockOutput {
    return { h: add(tp, x, this.ffn.forward(tp, ps, x, ctx.p, ctx.rng)) };
  }
}
