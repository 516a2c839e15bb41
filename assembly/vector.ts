// Flat-buffer vector ops of the coordinator (aggregation, clipping, validation of updates).
// Byte pointers, f32 data; SIMD over 4 lanes with scalar tails.
import { madd } from "./simd";

export function axpy(y: usize, x: usize, n: i32, a: f32): void {
  const va = f32x4.splat(a);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, madd(va, v128.load(x + o), v128.load(y + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

export function scale(x: usize, n: i32, a: f32): void {
  const va = f32x4.splat(a);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), va));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(x + o, load<f32>(x + o) * a);
  }
}

// Chunk of `out` kept hot in L1 while every input buffer is added into it.
const SUM_CHUNK: i32 = 1024;

/** out = Σ_k weights[k] · x_k; `list` holds the buffers' element offsets (i32). */
export function weighted_sum(out: usize, list: usize, weights: usize, count: i32, n: i32): void {
  for (let c0 = 0; c0 < n; c0 += SUM_CHUNK) {
    const len = min(SUM_CHUNK, n - c0);
    const o = out + (<usize>c0 << 2);
    memory.fill(o, 0, <usize>len << 2);
    for (let k = 0; k < count; k++) {
      const x = (<usize>load<i32>(list + (<usize>k << 2)) << 2) + (<usize>c0 << 2);
      axpy(o, x, len, load<f32>(weights + (<usize>k << 2)));
    }
  }
}

/** Σ x² accumulated in f64 (two f64x2 lanes per four floats). */
function sum_squares(x: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; j < n; j++) {
    const v = <f64>load<f32>(x + (<usize>j << 2));
    s += v * v;
  }
  return s;
}

export function l2_norm(x: usize, n: i32): f64 {
  return Math.sqrt(sum_squares(x, n));
}

export function clip_by_norm(x: usize, n: i32, maxNorm: f32): f64 {
  const norm = l2_norm(x, n);
  if (norm > <f64>maxNorm) scale(x, n, <f32>(<f64>maxNorm / norm));
  return norm;
}

/** Index of the first NaN/±Inf (exponent bits all ones), or -1. */
export function non_finite_index(x: usize, n: i32): i32 {
  const expMask = i32x4.splat(0x7f800000);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    if (v128.any_true(i32x4.eq(v128.and(v, expMask), expMask))) break;
  }
  for (; j < n; j++) {
    if ((load<u32>(x + (<usize>j << 2)) & 0x7f800000) == 0x7f800000) return j;
  }
  return -1;
}
