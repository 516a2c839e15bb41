// The click-input option: a learned clicked / not-clicked vector added to each history item's
// vector. The device knows whether its user clicked each item it was shown (the reference model
// ignores this). Slot t's own click is an input, its target is the next impression's click, so
// under causal attention no label leaks.
import { add } from "../autograd/ops/add.js";
import { embedding } from "../autograd/ops/embedding.js";
import { normalInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { indexTensor } from "./fill.js";
import type { Module } from "./module.js";

export class ClickEmbedding implements Module {
  readonly specs: readonly ParamSpec[];

  constructor(readonly name: string, readonly d: number) {
    this.specs = [{ name, partition: "shared", shape: [2, d], init: normalInit(1) }];
  }

  /** x: [B, T, d]; clicks: B·T values, 1 = clicked (anything else, padding included, = not clicked). */
  forward(tp: Tape, ps: ParamStore, x: Tensor, clicks: ArrayLike<number>): Tensor {
    if (clicks.length !== x.rows) throw new RangeError(`${this.name}: ${clicks.length} clicks for ${x.rows} slots`);
    const idx = indexTensor(tp, [x.rows, 1], (j) => (clicks[j] === 1 ? 1 : 0));
    return add(tp, x, embedding(tp, ps.get(this.name), idx));
  }
}
