// Reference (oracle) for assembly/layernorm.ts: the textbook formulas in doubles, two passes for
// the variance. The forward normalises with the mean and 1/σ as stored in `save`, so that the f32
// backend sees the same rounded statistics that the WASM kernel (and every backward pass) uses.
import type { RefMem } from "./mem.js";

export function layerNormForward(m: RefMem, x: number, w: number, y: number, save: number, rows: number, d: number, eps: number): void {
  if (d <= 0) return;
  const f = m.f;
  for (let r = 0; r < rows; r++) {
    const xr = x + r * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += f[xr + j]!;
    const mu = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (f[xr + j]! - mu) ** 2;
    f[save + r] = mu;
    f[save + rows + r] = 1 / Math.sqrt(v / d + eps);
    const mean = f[save + r]!;
    const rstd = f[save + rows + r]!;
    for (let j = 0; j < d; j++) f[y + r * d + j] = (f[xr + j]! - mean) * rstd * f[w + j]! + f[w + d + j]!;
  }
}

/** dx += rstd·(g − mean(g) − x̂·mean(g⊙x̂)) with g = dy⊙γ; dγ += Σ dy⊙x̂; dβ += Σ dy. */
export function layerNormBackward(
  m: RefMem, dy: number, x: number, w: number, save: number, dx: number, dw: number, rows: number, d: number,
): void {
  if (d <= 0) return;
  const f = m.f;
  const xhat = new Float64Array(d);
  const g = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const mean = f[save + r]!;
    const rstd = f[save + rows + r]!;
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < d; j++) {
      const dyj = f[dy + r * d + j]!;
      xhat[j] = (f[x + r * d + j]! - mean) * rstd;
      g[j] = dyj * f[w + j]!;
      sg += g[j]!;
      sgx += g[j]! * xhat[j]!;
      f[dw + j] = f[dw + j]! + dyj * xhat[j]!;
      f[dw + d + j] = f[dw + d + j]! + dyj;
    }
    for (let j = 0; j < d; j++) {
      f[dx + r * d + j] = f[dx + r * d + j]! + rstd * (g[j]! - sg / d - xhat[j]! * (sgx / d));
    }
  }
}
