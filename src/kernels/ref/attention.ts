// Reference (oracle) for assembly/attention.ts: the textbook computation, one query row at a time,
// in JS doubles. Q, K, V, ctx and P are stored into the save slot and read back from it, so the f32
// backend rounds them as the WASM kernel does and the f64 backend stays exact.
import type { FloatArray } from "../backend.js";
import type { Flag } from "../kernels.js";
import type { RefMem } from "./mem.js";

interface Layout {
  /** Offsets of Wq, Wk, Wv, Wo and bq, bk, bv, bo in the parameter slice. */
  W: [number, number, number, number];
  bias: [number, number, number, number];
  dh: number;
  scale: number;
  /** Floats of one batch row's save slot. */
  stride: number;
}

function layout(w: number, T: number, d: number, heads: number): Layout {
  const dd = d * d;
  const dh = d / heads;
  return {
    W: [w, w + dd, w + 2 * dd, w + 3 * dd],
    bias: [w + 4 * dd, w + 4 * dd + d, w + 4 * dd + 2 * d, w + 4 * dd + 3 * d],
    dh,
    scale: 1 / Math.sqrt(dh),
    stride: 4 * T * d + heads * T * T,
  };
}

/** y[rows×d] = x·W + b (all offsets into f). */
function linear(f: FloatArray, x: number, W: number, b: number, y: number, rows: number, d: number): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      let s = f[b + j]!;
      for (let k = 0; k < d; k++) s += f[x + r * d + k]! * f[W + k * d + j]!;
      f[y + r * d + j] = s;
    }
  }
}

/** For y = x·W + b with dy given: dW += xᵀ·dy, db += Σ dy, and dx += dy·Wᵀ into dxArr at dxOff. */
function linearBackward(
  f: FloatArray, x: number, W: number, dy: Float64Array, dW: number, db: number,
  dxArr: FloatArray, dxOff: number, rows: number, d: number,
): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const g = dy[r * d + j]!;
      f[db + j] = f[db + j]! + g;
      for (let k = 0; k < d; k++) f[dW + k * d + j] = f[dW + k * d + j]! + f[x + r * d + k]! * g;
    }
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += dy[r * d + j]! * f[W + k * d + j]!;
      dxArr[dxOff + r * d + k] = dxArr[dxOff + r * d + k]! + s;
    }
  }
}

/** Whether query t may attend to key s of batch row b. */
function visible(f: FloatArray, mask: number, b: number, T: number, t: number, s: number, causal: Flag): boolean {
  return f[mask + b * T + s] !== 0 && (causal === 0 || s <= t);
}

export function attentionForward(
  m: RefMem, xq: number, xkv: number, w: number, mask: number, out: number, save: number,
  B: number, T: number, d: number, heads: number, causal: Flag,
): void {
  const f = m.f;
  const L = layout(w, T, d, heads);
  const { dh, scale } = L;
  const score = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    const base = save + b * L.stride;
    const [Q, K, V, C] = [base, base + T * d, base + 2 * T * d, base + 3 * T * d];
    linear(f, xq + b * T * d, L.W[0], L.bias[0], Q, T, d);
    linear(f, xkv + b * T * d, L.W[1], L.bias[1], K, T, d);
    linear(f, xkv + b * T * d, L.W[2], L.bias[2], V, T, d);
    for (let h = 0; h < heads; h++) {
      const P = base + 4 * T * d + h * T * T;
      for (let t = 0; t < T; t++) {
        let mx = -Infinity;
        for (let s = 0; s < T; s++) {
          if (!visible(f, mask, b, T, t, s, causal)) continue;
          let dot = 0;
          for (let k = 0; k < dh; k++) dot += f[Q + t * d + h * dh + k]! * f[K + s * d + h * dh + k]!;
          score[s] = dot * scale;
          mx = Math.max(mx, score[s]!);
        }
        let sum = 0;
        for (let s = 0; s < T; s++) if (visible(f, mask, b, T, t, s, causal)) sum += Math.exp(score[s]! - mx);
        // no visible key: the row stays all 0 (sum = 0 never divides)
        for (let s = 0; s < T; s++) f[P + t * T + s] = visible(f, mask, b, T, t, s, causal) ? Math.exp(score[s]! - mx) / sum : 0;
        for (let k = 0; k < dh; k++) {
          let c = 0;
          for (let s = 0; s < T; s++) c += f[P + t * T + s]! * f[V + s * d + h * dh + k]!;
          f[C + t * d + h * dh + k] = c;
        }
      }
    }
    linear(f, C, L.W[3], L.bias[3], out + b * T * d, T, d);
  }
}

export function attentionBackward(
  m: RefMem, dout: number, xq: number, xkv: number, w: number, _mask: number, save: number,
  dxq: number, dxkv: number, dw: number, B: number, T: number, d: number, heads: number, _causal: Flag,
): void {
  // P is 0 wherever a key was hidden (padding or causal), so the backward needs neither the mask
  // nor the causal flag: every product below vanishes there.
  const f = m.f;
  const L = layout(w, T, d, heads);
  const dWoff = dw - w;
  const { dh, scale } = L;
  const n = T * d;
  const dS = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    const base = save + b * L.stride;
    const [Q, K, V, C] = [base, base + n, base + 2 * n, base + 3 * n];
    const dOut = Float64Array.from(f.subarray(dout + b * n, dout + (b + 1) * n));
    const [dctx, dQ, dK, dV] = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    linearBackward(f, C, L.W[3], dOut, L.W[3] + dWoff, L.bias[3] + dWoff, dctx, 0, T, d);
    for (let h = 0; h < heads; h++) {
      const P = base + 4 * n + h * T * T;
      const col = h * dh;
      for (let t = 0; t < T; t++) {
        // dP[s] = dctx_t·V_s and dV_s += P[t,s]·dctx_t; then dS = scale·P ⊙ (dP − Σ P ⊙ dP)
        let dot = 0;
        for (let s = 0; s < T; s++) {
          const p = f[P + t * T + s]!;
          let dp = 0;
          for (let k = 0; k < dh; k++) {
            dp += dctx[t * d + col + k]! * f[V + s * d + col + k]!;
            dV[s * d + col + k] = dV[s * d + col + k]! + p * dctx[t * d + col + k]!;
          }
          dS[s] = dp;
          dot += p * dp;
        }
        for (let s = 0; s < T; s++) dS[s] = scale * f[P + t * T + s]! * (dS[s]! - dot);
        // S = scale·Q·Kᵀ (scale already in dS): dQ_t += Σ_s dS[s]·K_s, dK_s += dS[s]·Q_t
        for (let s = 0; s < T; s++) {
          for (let k = 0; k < dh; k++) {
            dQ[t * d + col + k] = dQ[t * d + col + k]! + dS[s]! * f[K + s * d + col + k]!;
            dK[s * d + col + k] = dK[s * d + col + k]! + dS[s]! * f[Q + t * d + col + k]!;
          }
        }
      }
    }
    linearBackward(f, xq + b * n, L.W[0], dQ, L.W[0] + dWoff, L.bias[0] + dWoff, f, dxq + b * n, T, d);
    linearBackward(f, xkv + b * n, L.W[1], dK, L.W[1] + dWoff, L.bias[1] + dWoff, f, dxkv + b * n, T, d);
    linearBackward(f, xkv + b * n, L.W[2], dV, L.W[2] + dWoff, L.bias[2] + dWoff, f, dxkv + b * n, T, d);
  }
}
