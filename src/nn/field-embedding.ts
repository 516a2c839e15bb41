// Categorical fields → one vector: each field's code picks a row of that field's embedding and the
// fields' rows are concatenated (width fields·dim). All fields of a kind share ONE stacked table,
// field f's rows starting at the sum of the earlier fields' cardinalities, so a whole batch is one
// gather kernel call. Code 0 is padding in every field; its row is an ordinary learnable row (the
// model zeroes padding positions after embedding, and a padding target is never scored, so the
// row receives no gradient from padding slots).
import { embedding } from "../autograd/ops/embedding.js";
import { normalInit } from "../autograd/init.js";
import type { ParamSpec, ParamStore, Partition } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Init } from "../autograd/init.js";
import { indexTensor } from "./fill.js";
import type { Module } from "./module.js";

export class FieldEmbedding implements Module {
  readonly specs: readonly ParamSpec[];
  /** Width of the concatenated vector: fields · dim. */
  readonly width: number;
  /** First row of each field in the stacked table. */
  private readonly offsets: Int32Array;

  /** `init`: PyTorch's nn.Embedding default, N(0, 1), unless given. */
  constructor(readonly name: string, partition: Partition, readonly cardinalities: readonly number[], readonly dim: number, init: Init = normalInit(1)) {
    if (cardinalities.length === 0) throw new RangeError(`${name}: no fields`);
    for (const c of cardinalities) if (!(Number.isInteger(c) && c >= 1)) throw new RangeError(`${name}: bad cardinality ${c}`);
    this.offsets = new Int32Array(cardinalities.length);
    let rows = 0;
    cardinalities.forEach((c, f) => {
      this.offsets[f] = rows;
      rows += c;
    });
    this.width = cardinalities.length * dim;
    this.specs = [{ name, partition, shape: [rows, dim], init }];
  }

  get fields(): number {
    return this.cardinalities.length;
  }

  /**
   * [...lead, fields·dim] for the entities idAt(0 .. n−1) (n = product of lead), whose field codes
   * are rows of `codes` (entities × fields, as Dataset.itemFeatures / userFeatures).
   */
  forward(tp: Tape, ps: ParamStore, codes: Int32Array, lead: readonly number[], idAt: (j: number) => number): Tensor {
    const F = this.fields;
    const idx = indexTensor(tp, [...lead, F], (k) => {
      const j = (k / F) | 0;
      const f = k - j * F;
      const id = idAt(j);
      const at = id * F + f;
      if (!(Number.isInteger(id) && id >= 0 && at < codes.length)) throw new RangeError(`${this.name}: entity ${id} has no field codes (table of ${codes.length / F})`);
      const code = codes[at]!;
      if (!(code >= 0 && code < this.cardinalities[f]!)) throw new RangeError(`${this.name}: code ${code} of field ${f} (entity ${id}) is outside 0..${this.cardinalities[f]! - 1}`);
      return this.offsets[f]! + code;
    });
    return embedding(tp, ps.get(this.name), idx);
  }
}
