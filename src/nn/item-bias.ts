// The item-bias option: one shared scalar per item-field value, the target item's scalars summed
// and added to the logit — the "wide" part logistic regression on the fields has (its item half):
// a category's click propensity reaches the logit directly instead of through the embeddings and
// the MLP. Starts at 0, so the model starts as without it. The personal-bias option is the same
// table in the private partition: each user's own offset per item-field value (its taste for a
// category, which the additive user + item biases cannot express).
import { linear } from "../autograd/ops/linear.js";
import { add } from "../autograd/ops/add.js";
import { constantInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore, Partition } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { FieldEmbedding } from "./field-embedding.js";
import type { Module } from "./module.js";

export class ItemBias implements Module {
  readonly specs: readonly ParamSpec[];
  private readonly table: FieldEmbedding;

  constructor(name: string, cardinalities: readonly number[], partition: Partition = "shared") {
    this.table = new FieldEmbedding(name, partition, cardinalities, 1, constantInit(0));
    this.specs = this.table.specs;
  }

  /** logits [n, 1] + Σ over fields of the scalar of target idAt(j)'s value. */
  forward(tp: Tape, ps: ParamStore, logits: Tensor, codes: Int32Array, idAt: (j: number) => number): Tensor {
    const n = logits.rows;
    if (logits.size !== n) throw new RangeError(`${this.table.name}: logits must be one column, got ${logits.shape.join("×")}`);
    const F = this.table.fields;
    const perField = this.table.forward(tp, ps, codes, [n], idAt);
    const sum = linear(tp, perField, tp.constant(new Float32Array(F).fill(1), [F, 1]));
    return add(tp, logits, sum);
  }
}
