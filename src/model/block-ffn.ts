// The second half of a block, where MRFF and FedSASRec differ: given X = LayerNorm(H) with padding
// zeroed, the block's new H (padding is zeroed by the caller), and for MRFF the gate's choice.
import type { ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { GateResult } from "../nn/group-gate.js";
import type { Module } from "../nn/module.js";
import type { Rng } from "../util/rng.js";

export interface BlockContext {
  /** [B, T], 1 = real position. */
  mask: Tensor;
  /** [B, T] masks of the real positions whose item was clicked, and not clicked (gate-clicks option). */
  clicked?: Tensor;
  unclicked?: Tensor;
  /** User vectors e_u: [B, du]. */
  eu: Tensor;
  /** Dropout probability (0 in evaluation) and its generator. */
  p: number;
  rng: Rng;
  /** Every row takes the first row's group (ForwardOptions.oneUser). */
  oneUser?: boolean;
}

export interface BlockOutput {
  h: Tensor;
  gate?: GateResult;
}

export interface BlockFfn extends Module {
  forward(tp: Tape, ps: ParamStore, x: Tensor, ctx: BlockContext): BlockOutput;
}
