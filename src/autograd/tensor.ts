// A Tensor is a view into a Backend's memory: an element offset and a shape (row-major, contiguous),
// never a copy. Its gradient, when it has one, is a buffer of the same shape at `grad`: a fixed
// slice of a partition's gradient buffer for parameters, or an arena buffer that the tape hands
// out lazily for activations.
import { NONE } from "../kernels/kernels.js";

export type DType = "f32" | "i32";

export class Tensor {
  readonly size: number;

  constructor(
    readonly offset: number,
    readonly shape: readonly number[],
    /** Element offset of the gradient buffer, or NONE until one is assigned. */
    public grad: number = NONE,
    /** Whether gradients flow into this tensor (parameters and what is computed from them). */
    readonly requiresGrad = false,
    /** i32 tensors hold indices (read through be.i); they never take gradients. */
    readonly dtype: DType = "f32",
  ) {
    this.size = sizeOf(shape);
    if (dtype === "i32" && requiresGrad) throw new TypeError("Tensor: an i32 tensor cannot require gradients");
  }

  /** Length of the last axis (1 for a scalar). */
  get cols(): number {
    return this.shape.length === 0 ? 1 : this.shape[this.shape.length - 1]!;
  }

  /** Product of the leading axes: the row count when the tensor is read as a matrix [rows, cols]. */
  get rows(): number {
    return sizeOf(this.shape.slice(0, -1));
  }
}

/** Number of elements of a shape (validated: non-negative integers). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`bad shape [${shape.join(", ")}]`);
    n *= s;
  }
  return n;
}
