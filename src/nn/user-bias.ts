// The private per-user logit bias option: one scalar in the private partition added to every
// logit of the user's device. A user's own click propensity is the strongest single signal on
// KuaiSAR-R (its training click rate alone scores test AUC 0.691, logistic regression with a user
// bias 0.722), and a scalar that is the user's own lets the model carry it directly instead of
// through the user field embeddings and the user expert. In the central regime the private
// partition is one for everybody, so there it is a global offset.
import { addBroadcast } from "../autograd/ops/add.js";
import { constantInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Module } from "./module.js";

export class UserBias implements Module {
  readonly specs: readonly ParamSpec[];

  constructor(readonly name: string) {
    this.specs = [{ name, partition: "private", shape: [1], init: constantInit(0) }];
  }

  /** logits: [n, 1] → logits + b. */
  forward(tp: Tape, ps: ParamStore, logits: Tensor): Tensor {
    if (logits.size !== logits.rows) throw new RangeError(`${this.name}: logits must be one column, got ${logits.shape.join("×")}`);
    return addBroadcast(tp, logits, ps.get(this.name));
  }
}
