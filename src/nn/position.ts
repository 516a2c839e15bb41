// Learned position embeddings (maxlen × d) added to every sequence of a batch. Windows are
// left-padded, so the last slot always holds the most recent item: a window shorter than maxlen
// takes the LAST T positions, which makes a trimmed window (no padding) compute exactly what its
// padded form does.
import { addBroadcast } from "../autograd/ops/add.js";
import { normalInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Module } from "./module.js";

export class PositionEmbedding implements Module {
  readonly specs: readonly ParamSpec[];

  constructor(readonly name: string, readonly maxlen: number, readonly d: number) {
    this.specs = [{ name, partition: "shared", shape: [maxlen, d], init: normalInit(1) }];
  }

  /** x: [B, T, d] with T ≤ maxlen → x + positions maxlen−T .. maxlen−1. */
  forward(tp: Tape, ps: ParamStore, x: Tensor): Tensor {
    const T = x.shape[1]!;
    if (!(x.shape.length === 3 && T >= 1 && T <= this.maxlen && x.cols === this.d)) {
      throw new RangeError(`${this.name}: input [${x.shape.join(", ")}] is not [B, T ≤ ${this.maxlen}, ${this.d}]`);
    }
    const pos = tp.view(ps.get(this.name), (this.maxlen - T) * this.d, [T, this.d]);
    return addBroadcast(tp, x, pos);
  }
}
