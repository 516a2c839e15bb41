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

// Chunk of `out` (64 KiB) kept in L2 while every input buffer is added into it. Measured at
// 32 buffers of 131,072 floats: 1,024 (L1-sized) ran at 9 GFLOP/s, 16,384 at 22-26; longer runs
// per buffer let the hardware prefetcher stream, and 32,768 no longer fits beside the inputs.
const SUM_CHUNK: i32 = 16384;

/** out = Σ_k weights[k] · x_k; `list` holds the buffers' element offsets (i32). */
export function weighted_sum(out: usize, list: usize, weights: usize, count: i32, n: i32): void {
  for (let c0 = 0; c0 < n; c0 += SUM_CHUNK) {
    const len = min(SUM_CHUNK, n - c0);
    const o = out + (<usize>c0 << 2);
    memory.fill(o, 0, <usize>len << 2);
    let k = 0;
    // four buffers per pass over the chunk: a quarter of the loads and stores of `out`, and the
    // same order of additions as one buffer at a time
    for (; k + 4 <= count; k += 4) add_four(o, list + (<usize>k << 2), weights + (<usize>k << 2), c0, len);
    for (; k < count; k++) {
      const x = (<usize>load<i32>(list + (<usize>k << 2)) << 2) + (<usize>c0 << 2);
      axpy(o, x, len, load<f32>(weights + (<usize>k << 2)));
    }
  }
}

/** o[0..len) += w0·x0 + w1·x1 + w2·x2 + w3·x3, added in that order, x_i = buffer list[i] from element c0. */
function add_four(o: usize, list: usize, weights: usize, c0: i32, len: i32): void {
  const off = <usize>c0 << 2;
  const x0 = (<usize>load<i32>(list) << 2) + off;
  const x1 = (<usize>load<i32>(list, 4) << 2) + off;
  const x2 = (<usize>load<i32>(list, 8) << 2) + off;
  const x3 = (<usize>load<i32>(list, 12) << 2) + off;
  const w0 = load<f32>(weights);
  const w1 = load<f32>(weights, 4);
  const w2 = load<f32>(weights, 8);
  const w3 = load<f32>(weights, 12);
  const v0 = f32x4.splat(w0);
  const v1 = f32x4.splat(w1);
  const v2 = f32x4.splat(w2);
  const v3 = f32x4.splat(w3);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const b = <usize>j << 2;
    let acc = madd(v0, v128.load(x0 + b), v128.load(o + b));
    acc = madd(v1, v128.load(x1 + b), acc);
    acc = madd(v2, v128.load(x2 + b), acc);
    v128.store(o + b, madd(v3, v128.load(x3 + b), acc));
  }
  for (; j < len; j++) {
    const b = <usize>j << 2;
    let acc = load<f32>(o + b) + w0 * load<f32>(x0 + b);
    acc += w1 * load<f32>(x1 + b);
    acc += w2 * load<f32>(x2 + b);
    store<f32>(o + b, acc + w3 * load<f32>(x3 + b));
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
