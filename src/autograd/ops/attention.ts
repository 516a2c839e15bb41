// Fused self-attention (one kernel call forward, one backward) with the query input separate from
// the key/value input, as the model needs: Q from LayerNorm(H), K and V from H itself.
import { attentionParamSize, attentionSaveSize } from "../../kernels/kernels.js";
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, needFloat, shapeStr } from "./check.js";

export interface AttentionOptions {
  heads: number;
  /** Position t attends only to positions s ≤ t. */
  causal: boolean;
}

/**
 * xq, xkv: [B, T, d]; w: the fused slice [Wq | Wk | Wv | Wo | bq | bk | bv | bo]
 * (attentionParamSize(d)); mask: f32 [B, T], 1 for a real item, 0 for padding keys (a constant: it takes no gradient).
 */
export function attention(tp: Tape, xq: Tensor, xkv: Tensor, w: Tensor, mask: Tensor, opts: AttentionOptions): Tensor {
  const be = tp.be;
  need(xq.shape.length === 3, "attention", () => `xq must be [B, T, d], got ${shapeStr(xq)}`);
  const [B, T, d] = xq.shape as [number, number, number];
  const { heads } = opts;
  const causal = opts.causal ? 1 : 0;
  need(xkv.shape.length === 3 && xkv.shape.every((s, k) => s === xq.shape[k]), "attention", () => `xkv ${shapeStr(xkv)} vs xq ${shapeStr(xq)}`);
  need(Number.isInteger(heads) && heads >= 1 && d % heads === 0, "attention", () => `d = ${d} is not divisible by ${heads} heads`);
  need(w.size === attentionParamSize(d), "attention", () => `w has ${w.size} floats, expected ${attentionParamSize(d)}`);
  needFloat("attention", mask);
  need(mask.size === B * T, "attention", () => `mask ${shapeStr(mask)} for B = ${B}, T = ${T}`);
  const out = tp.output(xq.shape, xq, xkv, w);
  const save = tp.arena.alloc(attentionSaveSize(B, T, d, heads));
  be.attentionForward(xq.offset, xkv.offset, w.offset, mask.offset, out.offset, save, B, T, d, heads, causal);
  tp.record(out, () => {
    const n = xq.size;
    const dxq = tp.grad(xq);
    // one buffer for both gradients would be read and written by two accumulations at once
    const shared = xkv.offset === xq.offset;
    const dxkv = shared ? tp.arena.zeros(n) : tp.grad(xkv);
    be.attentionBackward(out.grad, xq.offset, xkv.offset, w.offset, mask.offset, save, dxq, dxkv, tp.grad(w), B, T, d, heads, causal);
    if (shared) be.axpy(dxq, dxkv, n, 1);
  });
  return out;
}
