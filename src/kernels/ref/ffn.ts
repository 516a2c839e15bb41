// Reference (oracle) for assembly/ffn.ts: y = (relu(x·W1 + b1) ⊙ drop)·W2 + b2 with textbook loops
// in doubles. Each stage reads the previous one back from `save`, so the f32 backend rounds where
// the WASM kernel stores and the backward uses exactly what the forward saved.
import type { RefMem } from "./mem.js";

/** Offsets of W1, b1, W2, b2 inside the parameter slice w (ffnParamSize layout). */
function slices(w: number, d: number, dff: number): { w1: number; b1: number; w2: number; b2: number } {
  const b1 = w + d * dff;
  const w2 = b1 + dff;
  return { w1: w, b1, w2, b2: w2 + dff * d };
}

export function ffnForward(
  m: RefMem, x: number, w: number, y: number, save: number, rows: number, d: number, dff: number, drop: number,
): void {
  const f = m.f;
  const { w1, b1, w2, b2 } = slices(w, d, dff);
  const pre = save;
  const hid = save + rows * dff;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dff; j++) {
      let s = f[b1 + j]!;
      for (let k = 0; k < d; k++) s += f[x + r * d + k]! * f[w1 + k * dff + j]!;
      f[pre + r * dff + j] = s;
      const keep = drop < 0 ? 1 : f[drop + r * dff + j]!;
      f[hid + r * dff + j] = Math.max(f[pre + r * dff + j]!, 0) * keep;
    }
    for (let i = 0; i < d; i++) {
      let s = f[b2 + i]!;
      for (let j = 0; j < dff; j++) s += f[hid + r * dff + j]! * f[w2 + j * d + i]!;
      f[y + r * d + i] = s;
    }
  }
}

/**
 * dpre = (dy·W2ᵀ) ⊙ drop where pre > 0 (else 0); accumulates dW2 += hiddenᵀ·dy, db2 += Σ dy,
 * dW1 += xᵀ·dpre, db1 += Σ dpre, dx += dpre·W1ᵀ.
 */
export function ffnBackward(
  m: RefMem, dy: number, x: number, w: number, save: number, dx: number, dw: number,
  rows: number, d: number, dff: number, drop: number,
): void {
  const f = m.f;
  const { w1, w2 } = slices(w, d, dff);
  const g = slices(dw, d, dff);
  const pre = save;
  const hid = save + rows * dff;
  const dpre = new Float64Array(dff);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dff; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += f[dy + r * d + i]! * f[w2 + j * d + i]!;
      const keep = drop < 0 ? 1 : f[drop + r * dff + j]!;
      dpre[j] = f[pre + r * dff + j]! > 0 ? s * keep : 0;
    }
    for (let i = 0; i < d; i++) {
      const dyi = f[dy + r * d + i]!;
      f[g.b2 + i] = f[g.b2 + i]! + dyi;
      for (let j = 0; j < dff; j++) f[g.w2 + j * d + i] = f[g.w2 + j * d + i]! + f[hid + r * dff + j]! * dyi;
    }
    for (let j = 0; j < dff; j++) {
      f[g.b1 + j] = f[g.b1 + j]! + dpre[j]!;
      for (let k = 0; k < d; k++) f[g.w1 + k * dff + j] = f[g.w1 + k * dff + j]! + f[x + r * d + k]! * dpre[j]!;
    }
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let j = 0; j < dff; j++) s += dpre[j]! * f[w1 + k * dff + j]!;
      f[dx + r * d + k] = f[dx + r * d + k]! + s;
    }
  }
}
