// The prediction MLP: Linear → ReLU for each hidden width, then Linear to one logit (METHOD.md:
// [h_t ; item_i ; e_u] of width 128 → 32 → 1 at the reference sizes).
import { linear } from "../autograd/ops/linear.js";
import { relu } from "../autograd/ops/relu.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { fanInUniform } from "./init.js";
import type { Module } from "./module.js";

export class Mlp implements Module {
  readonly specs: readonly ParamSpec[];
  private readonly layers: { w: string; b: string }[];

  constructor(readonly name: string, readonly inputs: number, hidden: readonly number[]) {
    const widths = [inputs, ...hidden, 1];
    for (const w of widths) if (!(Number.isInteger(w) && w >= 1)) throw new RangeError(`${name}: bad width ${w} in [${widths.join(", ")}]`);
    this.layers = hidden.map((_, j) => ({ w: `${name}.${j}.w`, b: `${name}.${j}.b` }));
    this.layers.push({ w: `${name}.out.w`, b: `${name}.out.b` });
    this.specs = this.layers.flatMap(({ w, b }, j) => {
      const init = fanInUniform(widths[j]!);
      return [
        { name: w, partition: "shared" as const, shape: [widths[j]!, widths[j + 1]!], init },
        { name: b, partition: "shared" as const, shape: [widths[j + 1]!], init },
      ];
    });
  }

  /** x: [n, inputs] → logits [n, 1]. */
  forward(tp: Tape, ps: ParamStore, x: Tensor): Tensor {
    let y = x;
    this.layers.forEach(({ w, b }, j) => {
      y = linear(tp, y, ps.get(w), ps.get(b));
      if (j < this.layers.length - 1) y = relu(tp, y);
    });
    return y;
  }
}
