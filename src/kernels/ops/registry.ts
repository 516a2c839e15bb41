// The op table's shape. One entry per kernel (or forward/backward pair) declares its tensors, its
// shapes (random ranges, edge cases, the model's benchmark shapes), its tolerance and its work in
// FLOPs. The same table drives the property tests (WASM vs reference), the finite-difference
// gradient checks and the micro benchmarks, as ggml's test-backend-ops does.
import type { Backend } from "../backend.js";
import type { Rng } from "../../util/rng.js";

export type Dims = Record<string, number>;

export type TensorRole = "in" | "out" | "inout";
export type TensorType = "f32" | "i32" | "i8";

export interface TensorSpec<D extends Dims> {
  name: string;
  /** in: filled before the call; out: zero-filled, read after; inout: both. */
  role: TensorRole;
  /** Element type; i8 tensors are sized in values and occupy ⌈size/4⌉ elements. Default f32. */
  type?: TensorType;
  size(d: D): number;
  /** Host values for in/inout tensors. Default: standard normal. */
  init?(rng: Rng, n: number, d: D): ArrayLike<number>;
  /** Whether outputs are compared between backends (default true for out/inout). */
  compare?: boolean;
}

export interface Tolerance {
  /** |x − ref| ≤ abs + rel·|ref|, element-wise. */
  abs: number;
  rel: number;
}

export interface GradSpec<D extends Dims> {
  /** Inputs that receive gradients, in buffers named "d" + name (accumulated into). */
  wrt: string[];
  /** Outputs whose weighted sum Σ out ⊙ R is the scalar under test; seeds R in "d" + name. */
  of: string[];
  /** Runs the backward kernel (after forward has run on the same tensors). */
  backward(be: Backend, d: D, p: Record<string, number>): void;
  /** Work of the backward pass in floating-point operations. */
  flops(d: D): number;
  /**
   * Tolerance of the WASM backward against the f64 reference backward, relative to the largest
   * gradient magnitude of each tensor. Default { abs: 1e-4, rel: 1e-3 }.
   */
  tol?(d: D): Tolerance;
  /**
   * Inputs whose elements must not be perturbed by finite differences, because the op is not
   * differentiable there (e.g. ReLU at 0 is avoided by init instead). Default: none.
   */
  fdSkip?: string[];
}

export interface OpDef<D extends Dims = Dims> {
  /** Unique name, e.g. "gemm_ab". */
  name: string;
  /** The assembly/ file that holds the kernel. */
  family: string;
  /** Inclusive integer ranges the property test draws each dimension from. */
  dims: { [K in keyof D]: [number, number] };
  /** Rejects combinations that the op does not accept (e.g. d not divisible by heads). */
  valid?(d: D): boolean;
  /** Shapes always tested: sizes 1, tails past a multiple of 4, T = 1, all padding, 0. */
  edge: D[];
  /** The model's shapes, for the benchmark. */
  bench: D[];
  tensors: TensorSpec<D>[];
  /** Runs the forward kernel; p maps tensor names to element offsets. A scalar result is returned. */
  forward(be: Backend, d: D, p: Record<string, number>): number | void;
  /** Tolerance of the WASM result against the f32 reference. */
  tol(d: D): Tolerance;
  /** Work of the forward pass in floating-point operations (for GFLOP/s). */
  flops(d: D): number;
  grad?: GradSpec<D>;
}

/** Defines an op with its dimension type inferred. */
export function defineOp<D extends Dims>(op: OpDef<D>): OpDef<Dims> {
  return op as unknown as OpDef<Dims>;
}
