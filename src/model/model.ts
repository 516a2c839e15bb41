// The sequence recommender of METHOD.md, in its two forms: MRFF (group gate, K group experts and a
// private user expert per block) and the FedSASRec baseline (one shared FFN per block); they
// share everything else.
//
//   item vector = concat of item field embeddings (+ clicked / not-clicked vector, option), · √d
//   H = dropout(item vector + position) with padding zeroed
//   per block: H = Q + Attn(Q, H, H), Q = LN(H); X = LN(H), padding zeroed; H = FFN half(X),
//              padding zeroed
//   logit at slot t for target i = MLP([LN(h_t) ; item_i ; e_u]), e_u = concat of user fields
//
// The √d scaling of the history items is the reference code's (SASRec's); its target items are
// not scaled. Partitions: shared = item fields, click vectors, positions, attention and its
// LayerNorms, gates, final LayerNorm, MLP (and FedSASRec's FFNs); group = the K experts of every
// block, one slice each (groupParam); private = user fields, user experts (and the user-bias
// option's scalar, added to every logit). The item-bias option adds shared per-field-value scalars
// of the target item to the logit.
import { add } from "../autograd/ops/add.js";
import { bceLoss } from "../autograd/ops/bce.js";
import { concatCols, concatRows } from "../autograd/ops/concat.js";
import { dropout } from "../autograd/ops/dropout.js";
import { selectRows } from "../autograd/ops/embedding.js";
import { maskRows } from "../autograd/ops/mask.js";
import { scale } from "../autograd/ops/scale.js";
import { reshape } from "../autograd/ops/view.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import { Tensor } from "../autograd/tensor.js";
import type { Windows } from "../data/split.js";
import { AttentionSublayer } from "../nn/attention-sublayer.js";
import { balanceLoss } from "../nn/balance-loss.js";
import { ClickEmbedding } from "../nn/click-embedding.js";
import { FieldEmbedding } from "../nn/field-embedding.js";
import { floatTensor, indexTensor } from "../nn/fill.js";
import type { GateResult } from "../nn/group-gate.js";
import { LayerNorm } from "../nn/layer-norm.js";
import { Mlp } from "../nn/mlp.js";
import { specsOf, type Module } from "../nn/module.js";
import { PositionEmbedding } from "../nn/position.js";
import { ItemBias } from "../nn/item-bias.js";
import { UserBias } from "../nn/user-bias.js";
import type { BlockFfn } from "./block-ffn.js";
import { ResidualFfn } from "./fedsasrec.js";
import { GroupFfn } from "./mrff.js";
import type { BatchInputs, ForwardOptions, ForwardResult, ModelConfig, Recommender, Schema } from "./types.js";

/** What encode reads of a batch: the windows' history (targets, labels and weights are forward's). */
/** Parameter name of the personal-bias option's private table (the device initialises it, private-training.ts). */
export const PERSONAL_BIAS = "user.item-bias";
/** The user-bias option's parameter (the device's own logit offset). */
export const USER_BIAS = "user.bias";

export type SequenceBatch = Omit<BatchInputs, "windows"> & { windows: Pick<Windows, "batch" | "maxlen" | "items" | "clicks" | "mask"> };

/** The sequence part of a forward pass, before any slot is scored. */
export interface Encoded {
  /** Output of the last block, [B, T, d], padding zeroed (the final LayerNorm is not applied). */
  h: Tensor;
  /** e_u of each row: [B, du]. */
  eu: Tensor;
  /** [B, T], 1 = real position. */
  mask: Tensor;
  /** Chosen group of row b at block l at b·blocks + l (zeros for FedSASRec). */
  routes: Int32Array;
  /** The gate of each block (MRFF). */
  gates: GateResult[];
}

export class SequenceModel implements Recommender {
  readonly specs: ParamSpec[];
  /** Width of an item vector and of the sequence: item fields · fieldDim. */
  readonly d: number;
  /** Width of e_u: user fields · fieldDim. */
  readonly du: number;
  private readonly items: FieldEmbedding;
  private readonly users: FieldEmbedding;
  private readonly click: ClickEmbedding | undefined;
  private readonly position: PositionEmbedding;
  private readonly attention: AttentionSublayer[];
  private readonly ffnNorm: LayerNorm[];
  private readonly ffn: BlockFfn[];
  private readonly finalNorm: LayerNorm;
  private readonly mlp: Mlp;
  private readonly bias: UserBias | undefined;
  private readonly itemBias: ItemBias | undefined;
  private readonly personalBias: ItemBias | undefined;

  constructor(readonly config: ModelConfig, readonly schema: Schema) {
    const { fieldDim, blocks, maxlen } = config;
    const mrff = config.kind === "mrff";
    this.items = new FieldEmbedding("item.fields", "shared", schema.itemCardinalities, fieldDim);
    this.users = new FieldEmbedding("user.fields", "private", schema.userCardinalities, fieldDim);
    const d = (this.d = this.items.width);
    const du = (this.du = this.users.width);
    this.click = config.clickInput ? new ClickEmbedding("click", d) : undefined;
    this.position = new PositionEmbedding("position", maxlen, d);
    const blockIds = Array.from({ length: blocks }, (_, l) => l);
    this.attention = blockIds.map((l) => new AttentionSublayer(`block${l}.attn`, d, config.heads));
    this.ffnNorm = blockIds.map((l) => new LayerNorm(`block${l}.ffn.ln`, d));
    this.ffn = blockIds.map((l) =>
      mrff ? new GroupFfn(`block${l}`, d, du, config.groups, (k) => this.groupParam(l, k), config.gateWeighted, config.gateClicks, config.userExpertInit ?? "fan-in") : new ResidualFfn(`block${l}`, d),
    );
    this.finalNorm = new LayerNorm("final.ln", d);
    this.mlp = new Mlp("mlp", 2 * d + du, config.mlp);
    this.bias = config.userBias ? new UserBias(USER_BIAS) : undefined;
    this.itemBias = config.itemBias ? new ItemBias("item.bias", schema.itemCardinalities) : undefined;
    this.personalBias = config.personalBias ? new ItemBias(PERSONAL_BIAS, schema.itemCardinalities, "private") : undefined;
    const blockModules = blockIds.flatMap((l): Module[] => [this.attention[l]!, this.ffnNorm[l]!, this.ffn[l]!]);
    const modules: Module[] = [this.items, ...(this.click ? [this.click] : []), this.position, ...blockModules, this.finalNorm, this.mlp, ...(this.itemBias ? [this.itemBias] : []), this.users, ...(this.bias ? [this.bias] : []), ...(this.personalBias ? [this.personalBias] : [])];
    this.specs = specsOf(modules);
  }

  groupParam(block: number, group: number): string {
    const { kind, blocks, groups } = this.config;
    if (kind !== "mrff") throw new RangeError(`groupParam: a ${kind} model has no group experts`);
    if (!(Number.isInteger(block) && block >= 0 && block < blocks && Number.isInteger(group) && group >= 0 && group < groups)) {
      throw new RangeError(`groupParam: no group expert (${block}, ${group}) in ${blocks} blocks × ${groups} groups`);
    }
    return `block${block}.group${group}`;
  }

  /** Runs the sequence part for a batch (windows up to maxlen long; a shorter one takes the last positions). */
  encode(tp: Tape, ps: ParamStore, batch: SequenceBatch, opts: ForwardOptions): Encoded {
    const w = batch.windows;
    const { batch: B, maxlen: T } = w;
    const L = this.config.blocks;
    if (!(T >= 1 && T <= this.config.maxlen)) throw new RangeError(`encode: windows of ${T} slots for a model of maxlen ${this.config.maxlen}`);
    if (batch.users.length !== B) throw new RangeError(`encode: ${batch.users.length} users for a batch of ${B}`);
    const p = opts.train ? this.config.dropout : 0;
    const rng = opts.rng;
    const mask = tp.constant(w.mask.subarray(0, B * T), [B, T]);
    const eu = this.users.forward(tp, ps, batch.userFeatures, [B], (b) => batch.users[b]!);
    let x = this.items.forward(tp, ps, batch.itemFeatures, [B, T], (s) => w.items[s]!);
    if (this.click) x = this.click.forward(tp, ps, x, w.clicks.subarray(0, B * T));
    x = this.position.forward(tp, ps, scale(tp, x, Math.sqrt(this.d)));
    let h = maskRows(tp, dropout(tp, x, p, rng), mask);
    const clickMasks = this.config.kind === "mrff" && this.config.gateClicks ? this.clickMasks(tp, w, B, T) : {};
    const routes = new Int32Array(B * L);
    const gates: GateResult[] = [];
    for (let l = 0; l < L; l++) {
      h = this.attention[l]!.forward(tp, ps, h, mask);
      const xl = maskRows(tp, this.ffnNorm[l]!.forward(tp, ps, h), mask);
      const out = this.ffn[l]!.forward(tp, ps, xl, { mask, eu, p, rng, oneUser: opts.oneUser, ...clickMasks });
      h = maskRows(tp, out.h, mask);
      if (out.gate) {
        gates.push(out.gate);
        for (let b = 0; b < B; b++) routes[b * L + l] = out.gate.routes[b]!;
      }
    }
    return { h, eu, mask, routes, gates };
  }

  /**
   * Logits [n, 1] of n (sequence state, target item, user) triples: h rows [n, d] from encode (the
   * final LayerNorm is applied here), the targets' item ids idAt(j) into itemFeatures, eu rows [n, du].
   */
  score(tp: Tape, ps: ParamStore, h: Tensor, itemFeatures: Int32Array, idAt: (j: number) => number, eu: Tensor, train: boolean): Tensor {
    const n = h.rows;
    const target = this.items.forward(tp, ps, itemFeatures, [n], idAt);
    let logit = this.mlp.forward(tp, ps, concatCols(tp, [this.finalNorm.forward(tp, ps, h), target, eu]));
    if (this.itemBias) logit = this.itemBias.forward(tp, ps, logit, itemFeatures, idAt);
    if (this.personalBias && !(train && this.config.personalBias === "eval")) logit = this.personalBias.forward(tp, ps, logit, itemFeatures, idAt);
    return this.bias ? this.bias.forward(tp, ps, logit) : logit;
  }

  forward(tp: Tape, ps: ParamStore, batch: BatchInputs, opts: ForwardOptions): ForwardResult {
    const enc = this.encode(tp, ps, batch, opts);
    const w = batch.windows;
    const { batch: B, maxlen: T } = w;
    const BT = B * T;
    // only the slots that count are scored: every real slot in training, the last in evaluation
    let n = 0;
    for (let s = 0; s < BT; s++) if (w.weights[s] !== 0) n++;
    const scored = new Int32Array(n);
    for (let s = 0, j = 0; s < BT; s++) if (w.weights[s] !== 0) scored[j++] = s;
    const flat = reshape(tp, enc.h, [BT, this.d]);
    const h = n === BT ? flat : selectRows(tp, flat, indexTensor(tp, [n], (j) => scored[j]!));
    const eu = selectRows(tp, enc.eu, indexTensor(tp, [n], (j) => (scored[j]! / T) | 0));
    const logit = this.score(tp, ps, h, batch.itemFeatures, (j) => w.targets[scored[j]!]!, eu, opts.train);
    const labels = floatTensor(tp, [n, 1], (j) => w.labels[scored[j]!]!);
    const weights = floatTensor(tp, [n, 1], (j) => w.weights[scored[j]!]!);
    let loss = bceLoss(tp, logit, labels, weights);
    if (opts.groupShare && enc.gates.length > 0) loss = add(tp, loss, this.balance(tp, enc, opts.groupShare));
    return { loss, logits: this.spread(tp, logit, scored, B, T), routes: enc.routes };
  }

  /** [B, T] masks of the real positions clicked and not clicked. */
  private clickMasks(tp: Tape, w: SequenceBatch["windows"], B: number, T: number): { clicked: Tensor; unclicked: Tensor } {
    const real = (s: number) => w.mask[s]!;
    return {
      clicked: floatTensor(tp, [B, T], (s) => real(s) * (w.clicks[s] === 1 ? 1 : 0)),
      unclicked: floatTensor(tp, [B, T], (s) => real(s) * (w.clicks[s] === 1 ? 0 : 1)),
    };
  }

  /** Σ over blocks of the balance loss, averaged over the rows that have a real position. */
  private balance(tp: Tape, enc: Encoded, share: Float64Array): Tensor {
    const { blocks: L, groups: K, alpha } = this.config;
    if (share.length !== L * K) throw new RangeError(`forward: groupShare has ${share.length} values, expected blocks × groups = ${L * K}`);
    const [B, T] = enc.mask.shape as [number, number];
    const f = tp.be.f;
    const rows: number[] = [];
    for (let b = 0; b < B; b++) {
      let real = 0;
      for (let t = 0; t < T; t++) real += f[enc.mask.offset + b * T + t]!;
      if (real > 0) rows.push(b);
    }
    let total = floatTensor(tp, [1], () => 0);
    if (rows.length === 0) return total;
    for (let l = 0; l < L; l++) total = add(tp, total, balanceLoss(tp, enc.gates[l]!, rows, share.subarray(l * K, (l + 1) * K), alpha));
    return total;
  }

  /** The scored logits [n, 1] put at their slots of a [B, T] tensor, 0 elsewhere. */
  private spread(tp: Tape, logit: Tensor, scored: Int32Array, B: number, T: number): Tensor {
    const n = scored.length;
    const BT = B * T;
    if (n === BT) return reshape(tp, logit, [B, T]);
    const all = concatRows(tp, [logit, new Tensor(tp.arena.zeros(BT - n), [BT - n, 1])]);
    // slot s reads row `at` of [scored logits ; zeros]
    let j = 0;
    let z = n;
    const at = indexTensor(tp, [BT], (s) => (j < n && scored[j] === s ? j++ : z++));
    return reshape(tp, selectRows(tp, all, at), [B, T]);
  }
}
