// LayerNorm over rows of d (see src/kernels/kernels.ts). The forward computes each row's statistics
// with a corrected two-pass scheme and saves mean and 1/σ; the backward recomputes x̂ from them
// instead of saving it. Rows are short (d = 48..64), so everything stays in L1: each pass is one
// SIMD sweep over the row with a scalar tail.
import { hsum, madd } from "./simd";

export function layernorm_forward(x: usize, w: usize, y: usize, save: usize, rows: i32, d: i32, eps: f32): void {
  if (d <= 0) return;
  const gamma = w;
  const beta = w + (<usize>d << 2);
  const invD: f32 = 1 / <f32>d;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>d) << 2);
    const yr = y + ((<usize>r * <usize>d) << 2);
    // provisional mean; two accumulators halve the add latency chain
    let s0 = zero;
    let s1 = zero;
    let j = 0;
    for (; j + 8 <= d; j += 8) {
      s0 = f32x4.add(s0, v128.load(xr + (<usize>j << 2)));
      s1 = f32x4.add(s1, v128.load(xr + (<usize>j << 2), 16));
    }
    for (; j + 4 <= d; j += 4) s0 = f32x4.add(s0, v128.load(xr + (<usize>j << 2)));
    let sum = hsum(f32x4.add(s0, s1));
    for (; j < d; j++) sum += load<f32>(xr + (<usize>j << 2));
    const m0 = sum * invD;
    // Centred sums about m0 (two passes: E[x²] − E[x]² would cancel catastrophically for rows
    // with a large offset). Σ(x − m0) also corrects the rounding of m0 (Chan, Golub & LeVeque), so
    // the mean is good to about an ulp and a constant row gets x − mean = 0 exactly: variance 0,
    // 1/σ = 1/√eps, x̂ = 0 and no NaN (an uncorrected mean gave x̂ ≈ 1e-4 there).
    const vm = f32x4.splat(m0);
    let c = zero;
    let c2 = zero;
    let e = zero;
    let e2 = zero;
    j = 0;
    for (; j + 8 <= d; j += 8) {
      const t = f32x4.sub(v128.load(xr + (<usize>j << 2)), vm);
      const u = f32x4.sub(v128.load(xr + (<usize>j << 2), 16), vm);
      c = f32x4.add(c, t);
      c2 = madd(t, t, c2);
      e = f32x4.add(e, u);
      e2 = madd(u, u, e2);
    }
    for (; j + 4 <= d; j += 4) {
      const t = f32x4.sub(v128.load(xr + (<usize>j << 2)), vm);
      c = f32x4.add(c, t);
      c2 = madd(t, t, c2);
    }
    let dc = hsum(f32x4.add(c, e));
    let dc2 = hsum(f32x4.add(c2, e2));
    for (; j < d; j++) {
      const t = load<f32>(xr + (<usize>j << 2)) - m0;
      dc += t;
      dc2 += t * t;
    }
    const mean = m0 + dc * invD;
    const variance = max((dc2 - dc * dc * invD) * invD, <f32>0);
    const rstd: f32 = 1 / Mathf.sqrt(variance + eps);
    store<f32>(save + (<usize>r << 2), mean);
    store<f32>(save + ((<usize>rows + <usize>r) << 2), rstd);
    // y = (x − mean)·(rstd·γ) + β
    const vmean = f32x4.splat(mean);
    const vr = f32x4.splat(rstd);
    j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      const t = f32x4.sub(v128.load(xr + o), vmean);
      v128.store(yr + o, madd(t, f32x4.mul(vr, v128.load(gamma + o)), v128.load(beta + o)));
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - mean) * (rstd * load<f32>(gamma + o)) + load<f32>(beta + o));
    }
  }
}

/**
 * With x̂ = (x − mean)·rstd and g = dy⊙γ: dx += rstd·(g − mean(g) − x̂·mean(g⊙x̂)),
 * dγ += dy⊙x̂, dβ += dy. One sweep gathers the two row means and the parameter gradients, a second
 * applies dx (recomputing x̂ and g is cheaper than storing them).
 */
export function layernorm_backward(dy: usize, x: usize, w: usize, save: usize, dx: usize, dw: usize, rows: i32, d: i32): void {
  if (d <= 0) return;
  const gamma = w;
  const dgamma = dw;
  const dbeta = dw + (<usize>d << 2);
  const invD: f32 = 1 / <f32>d;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r * <usize>d) << 2;
    const xr = x + row;
    const dyr = dy + row;
    const dxr = dx + row;
    const mean = load<f32>(save + (<usize>r << 2));
    const rstd = load<f32>(save + ((<usize>rows + <usize>r) << 2));
    const vmean = f32x4.splat(mean);
    const vr = f32x4.splat(rstd);
    let sg = zero;
    let sgx = zero;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), vmean), vr);
      const g = v128.load(dyr + o);
      const gg = f32x4.mul(g, v128.load(gamma + o));
      sg = f32x4.add(sg, gg);
      sgx = madd(gg, xh, sgx);
      v128.store(dgamma + o, madd(g, xh, v128.load(dgamma + o)));
      v128.store(dbeta + o, f32x4.add(g, v128.load(dbeta + o)));
    }
    let a = hsum(sg);
    let b = hsum(sgx);
    for (; j < d; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(xr + o) - mean) * rstd;
      const g = load<f32>(dyr + o);
      const gg = g * load<f32>(gamma + o);
      a += gg;
      b += gg * xh;
      store<f32>(dgamma + o, load<f32>(dgamma + o) + g * xh);
      store<f32>(dbeta + o, load<f32>(dbeta + o) + g);
    }
    a *= invD;
    b *= invD;
    const va = f32x4.splat(a);
    const vnb = f32x4.splat(-b);
    j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), vmean), vr);
      const gg = f32x4.mul(v128.load(dyr + o), v128.load(gamma + o));
      const t = madd(xh, vnb, f32x4.sub(gg, va));
      v128.store(dxr + o, madd(t, vr, v128.load(dxr + o)));
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(xr + o) - mean) * rstd;
      const gg = load<f32>(dyr + o) * load<f32>(gamma + o);
      store<f32>(dxr + o, load<f32>(dxr + o) + rstd * (gg - a - xh * b));
    }
  }
}
