// LayerNorm over the model width, its gain and bias in one shared slice [γ | β].
import { layerNorm } from "../autograd/ops/layernorm.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { layerNormInit } from "./init.js";
import type { Module } from "./module.js";

export class LayerNorm implements Module {
  readonly specs: readonly ParamSpec[];

  constructor(readonly name: string, readonly d: number) {
    this.specs = [{ name, partition: "shared", shape: [2 * d], init: layerNormInit(d) }];
  }

  forward(tp: Tape, ps: ParamStore, x: Tensor): Tensor {
    return layerNorm(tp, x, ps.get(this.name));
  }
}
