// The recommender as the federated layer sees it. A model is a set of parameter specs (each in the
// shared, group or private partition: METHOD.md) plus functions that build its graph on a tape
// for one batch of windows (src/data/split.ts). The federated code never looks inside.
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Windows } from "../data/split.js";
import type { Rng } from "../util/rng.js";

export type ModelKind = "mrff" | "fedsasrec";

export interface ModelConfig {
  kind: ModelKind;
  /** Window length (METHOD.md: 65). Batches may use shorter windows: they take the last positions. */
  maxlen: number;
  /** Embedding width of every field; item vector d = itemFields · fieldDim. */
  fieldDim: number;
  blocks: number;
  heads: number;
  /** Group experts per block (mrff only). */
  groups: number;
  /** Balance-loss weight α (mrff only). */
  alpha: number;
  dropout: number;
  /** mrff: H = g_k·FFN_k(X) + FFN_user(X) instead of FFN_k(X) + FFN_user(X). */
  gateWeighted: boolean;
  /** mrff: the gate also reads the mean of X over clicked minus over unclicked history positions. */
  gateClicks: boolean;
  /**
   * mrff: how the private user expert's output layer starts: "fan-in" (PyTorch's default, as every
   * layer) or "zero", so that each user's expert starts as no change and learns only its residual.
   * Absent: "fan-in".
   */
  userExpertInit?: "fan-in" | "zero";
  /** Add a learned clicked / not-clicked embedding to each history item's vector. */
  clickInput: boolean;
  /** A private per-user scalar added to every logit (src/nn/user-bias.ts); absent = false. */
  userBias?: boolean;
  /** Shared scalars per item-field value, the target's summed into the logit (src/nn/item-bias.ts); absent = false. */
  itemBias?: boolean;
  /**
   * Private per-user scalars per item-field value, the target's summed into the logit: the user's
   * own taste per category (src/nn/item-bias.ts in the private partition). "trained": in training
   * and prediction, trained with the private partition; "eval": added at prediction only (training
   * neither sees nor moves it), so a table the device fills from its own history's labels does not
   * leak a training target's label into its own logit. Absent: none.
   */
  personalBias?: "trained" | "eval";
  /**
   * Hidden widths of the prediction MLP. METHOD.md's "128 → 32 → 1" is input 128 ([h_t ; item ;
   * e_u] at the reference sizes), one hidden layer of 32, output 1: mlp = [32], as in the
   * reference code (pred_layers "32").
   */
  mlp: number[];
}

/** Sizes the model takes from the data set (never hard-coded). */
export interface Schema {
  /** Cardinality (padding included) of each item field. */
  itemCardinalities: number[];
  /** Cardinality (padding included) of each user field. */
  userCardinalities: number[];
}

/** Per-batch inputs besides the windows: the field codes of the batch's users and items. */
export interface BatchInputs {
  windows: Windows;
  /** User u of each row (index into the data set), to look up its user fields. */
  users: Int32Array;
  /** Dataset.itemFeatures and Dataset.userFeatures (field codes, 0 = padding). */
  itemFeatures: Int32Array;
  userFeatures: Int32Array;
}

export interface ForwardOptions {
  /** Dropout on (training) or off (evaluation). */
  train: boolean;
  rng: Rng;
  /**
   * mrff balance loss: the fraction n_k/N of last round's clients that chose group k at block l,
   * blocks × groups, row-major; absent in round 1 (no balance loss).
   */
  groupShare?: Float64Array;
  /**
   * Every row is a window of the same user (the whole-history option of local training): the
   * gate's choice of the first row, the most recent window, holds for all of them, so that the
   * user still follows one group per block.
   */
  oneUser?: boolean;
}

export interface ForwardResult {
  /** Scalar training loss: weighted mean BCE over scored slots, plus the balance loss (mrff). */
  loss: Tensor;
  /** Logit of every slot, batch × maxlen: computed where windows.weights ≠ 0, 0 at the other slots. */
  logits: Tensor;
  /** Chosen group of each row at each block, batch × blocks (mrff; zeros for fedsasrec). */
  routes: Int32Array;
}

export interface Recommender {
  readonly config: ModelConfig;
  readonly schema: Schema;
  /** Every parameter with its partition; group experts are named so that groupSlice finds them. */
  readonly specs: ParamSpec[];
  /** Name of the group expert (block l, group k) in the group partition. */
  groupParam(block: number, group: number): string;
  forward(tape: Tape, params: ParamStore, batch: BatchInputs, opts: ForwardOptions): ForwardResult;
}
