// Update compression for the wire (see kernels.ts): the delta of two parameter buffers, top-k
// sparsification with error feedback, and blockwise int8 quantisation. Byte pointers; inputs are
// finite (the host checks updates with non_finite_index first).
import { scratchPtr } from "./common";
import { add } from "./elementwise";

export function delta(next: usize, prev: usize, out: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(out + o, f32x4.sub(v128.load(next + o), v128.load(prev + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(out + o, load<f32>(next + o) - load<f32>(prev + o));
  }
}

// ---- top-k ------------------------------------------------------------------------------------
//
// Radix select on keys = the bit pattern of |u| (sign cleared). IEEE-754 patterns of non-negative
// floats order like their values, so the k-th largest |u| is found digit by digit from the top:
// a histogram of one digit among the candidates still in range tells which bin holds the k-th
// key; every key above that bin is kept, and the next pass looks only inside it. Three passes of
// 11 + 10 + 10 bits settle any key exactly, in O(n) whatever the data, and a pass stops early when
// its bin is kept whole. A NaN's pattern lies above +Inf's, so NaNs rank first (contract: callers
// reject non-finite updates before; the kernel still ends and keeps exactly min(k, n) entries).

const KEY_MASK: u32 = 0x7fffffff;
const TOP_WIDTH: u32 = 11;
const DIGIT_WIDTH: u32 = 10;
const BINS: i32 = 1 << TOP_WIDTH;
const HIST_BYTES: usize = <usize>BINS << 2;
// Each digit is counted into one histogram per lane, so that keys falling into the same bin one
// after another (common: most |u| share a few exponents) do not wait on each other's increment.
const LANES: usize = 4;

/** Scratch bytes: the per-lane histograms (of the widest digit; the lower digits reuse them). */
export function topk_select_scratch(n: i32, k: i32): usize {
  return LANES * HIST_BYTES;
}

// @ts-ignore: decorator
@inline function add_to(bin: usize, c: i32): void {
  store<i32>(bin, load<i32>(bin) + c);
}

/** u = x + residual, stored in residual, and the top digit of every key counted per lane. */
function accumulate_top_histogram(x: usize, residual: usize, n: i32, hist: usize): void {
  memory.fill(hist, 0, LANES * HIST_BYTES);
  const vKeyMask = i32x4.splat(<i32>KEY_MASK);
  const shift = 31 - TOP_WIDTH;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const u = f32x4.add(v128.load(x + o), v128.load(residual + o));
    v128.store(residual + o, u);
    const bins = i32x4.shl(i32x4.shr_u(v128.and(u, vKeyMask), shift), 2);
    add_to(hist + <usize>i32x4.extract_lane(bins, 0), 1);
    add_to(hist + HIST_BYTES + <usize>i32x4.extract_lane(bins, 1), 1);
    add_to(hist + 2 * HIST_BYTES + <usize>i32x4.extract_lane(bins, 2), 1);
    add_to(hist + 3 * HIST_BYTES + <usize>i32x4.extract_lane(bins, 3), 1);
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const u = load<f32>(x + o) + load<f32>(residual + o);
    store<f32>(residual + o, u);
    add_to(hist + (<usize>((reinterpret<u32>(u) & KEY_MASK) >>> shift) << 2), 1);
  }
}

/** Count of bin b, summed over the per-lane histograms. */
// @ts-ignore: decorator
@inline function bin_count(hist: usize, b: i32): u32 {
  const p = hist + (<usize>b << 2);
  return load<u32>(p) + load<u32>(p + HIST_BYTES) + load<u32>(p + 2 * HIST_BYTES) + load<u32>(p + 3 * HIST_BYTES);
}

/**
 * Counts, per value of the digit at `shift`, the keys in [lo, lo + span), into the per-lane
 * histograms. Groups of four keys with none in range are skipped; in the others every lane adds
 * its in-range flag (0 or 1) to its bin, so keys piling up just around the threshold (as error
 * feedback makes them) cost no mispredicted branches.
 */
function histogram(u: usize, n: i32, hist: usize, lo: u32, span: u32, shift: u32, mask: u32): void {
  memory.fill(hist, 0, LANES * HIST_BYTES);
  const vKeyMask = i32x4.splat(<i32>KEY_MASK);
  const vLo = i32x4.splat(<i32>lo);
  const vSpan = i32x4.splat(<i32>span);
  const vMask = i32x4.splat(<i32>mask);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const keys = v128.and(v128.load(u + (<usize>j << 2)), vKeyMask);
    // key − lo < span (unsigned) ⇔ lo ≤ key < lo + span; the flag is −1 per lane in range
    const inRange = i32x4.lt_u(i32x4.sub(keys, vLo), vSpan);
    if (!v128.any_true(inRange)) continue;
    const bins = i32x4.shl(v128.and(i32x4.shr_u(keys, shift), vMask), 2);
    add_to(hist + <usize>i32x4.extract_lane(bins, 0), -i32x4.extract_lane(inRange, 0));
    add_to(hist + HIST_BYTES + <usize>i32x4.extract_lane(bins, 1), -i32x4.extract_lane(inRange, 1));
    add_to(hist + 2 * HIST_BYTES + <usize>i32x4.extract_lane(bins, 2), -i32x4.extract_lane(inRange, 2));
    add_to(hist + 3 * HIST_BYTES + <usize>i32x4.extract_lane(bins, 3), -i32x4.extract_lane(inRange, 3));
  }
  for (; j < n; j++) {
    const key = load<u32>(u + (<usize>j << 2)) & KEY_MASK;
    if (key - lo < span) add_to(hist + (<usize>((key >>> shift) & mask) << 2), 1);
  }
}

export function topk_select(x: usize, residual: usize, outIdx: usize, outVal: usize, n: i32, k: i32): i32 {
  const take = max(min(k, n), 0);
  if (take == 0) {
    // nothing is sent: u = x + residual stays in the residual
    add(x, residual, residual, n);
    return 0;
  }
  if (take == n) return keepAll(x, residual, outIdx, outVal, n);

  // Keys in [lo, lo + span) are undecided; `need` of them are still to be kept (need ≥ 1, and at
  // least `need` keys lie in the range). Every key at or above lo + span is kept.
  const hist = scratchPtr;
  let lo: u32 = 0;
  let span: u32 = 1 << 31;
  let need = <u32>take;
  let shift: u32 = 31 - TOP_WIDTH;
  let mask: u32 = (1 << TOP_WIDTH) - 1;
  accumulate_top_histogram(x, residual, n, hist);
  for (;;) {
    // walk down from the top bin; the keys of every bin passed are kept
    let b = <i32>mask;
    let c = bin_count(hist, b);
    while (c < need) {
      need -= c;
      b--;
      c = bin_count(hist, b);
    }
    lo |= <u32>b << shift;
    span = 1 << shift;
    // the bin is kept whole, or it holds one key value and ties go to the lower indices
    if (c == need || shift == 0) break;
    shift -= DIGIT_WIDTH;
    mask = (1 << DIGIT_WIDTH) - 1;
    histogram(residual, n, hist, lo, span, shift, mask);
  }
  return emit(residual, outIdx, outVal, n, lo, lo + span, need, take);
}

// Byte shuffles that pack the lanes set in a 4-bit mask to the front (row = mask; 128 gives 0).
const PACK = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128,
  8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
]);

/**
 * Keeps, in index order, every entry whose key is ≥ hi and the first `need` whose key is in
 * [lo, hi): writes index and value, and zeroes the entry in the residual.
 */
function emit(u: usize, outIdx: usize, outVal: usize, n: i32, lo: u32, hi: u32, need: u32, take: i32): i32 {
  const vKeyMask = i32x4.splat(<i32>KEY_MASK);
  const vLo = i32x4.splat(<i32>lo);
  const vHi = i32x4.splat(<i32>hi);
  const step = i32x4.splat(4);
  let idx = i32x4(0, 1, 2, 3);
  // Below ~3% kept (measured crossover ~4% at n = 131072), most groups hold no candidate and a
  // predictable branch skips them; above it that branch mispredicts often and costs more than
  // running every group through the branch-free path.
  const sparse = take < (n >> 5);
  let kept = 0;
  for (let j = 0; j < n; j += 4, idx = i32x4.add(idx, step)) {
    const p = u + (<usize>j << 2);
    if (j + 4 <= n) {
      const v = v128.load(p);
      const keys = v128.and(v, vKeyMask);
      const candidate = i32x4.ge_u(keys, vLo);
      if (sparse && !v128.any_true(candidate)) continue;
      const above = i32x4.ge_u(keys, vHi);
      // no key in the tied range: the group's kept lanes are exactly those above it, packed to
      // the front with one shuffle. A full store stays inside outIdx/outVal while 4 slots are
      // left; its extra lanes are overwritten by the next entries kept.
      if (!v128.any_true(v128.andnot(candidate, above)) && kept + 4 <= take) {
        const m = i32x4.bitmask(above);
        const pack = v128.load(PACK + (<usize>m << 4));
        v128.store(outIdx + (<usize>kept << 2), i8x16.swizzle(idx, pack));
        v128.store(outVal + (<usize>kept << 2), i8x16.swizzle(v, pack));
        v128.store(p, v128.andnot(v, above));
        kept += popcnt(m);
        continue;
      }
    }
    const end = min(j + 4, n);
    for (let t = j; t < end; t++) {
      const q = u + (<usize>t << 2);
      const bits = load<u32>(q);
      const key = bits & KEY_MASK;
      if (key < lo) continue;
      if (key < hi) {
        if (need == 0) continue;
        need--;
      }
      store<i32>(outIdx + (<usize>kept << 2), t);
      store<u32>(outVal + (<usize>kept << 2), bits);
      store<f32>(q, 0);
      kept++;
    }
  }
  return kept;
}

/** k ≥ n: every u = x + residual is sent and the residual empties. */
function keepAll(x: usize, residual: usize, outIdx: usize, outVal: usize, n: i32): i32 {
  const zero = f32x4.splat(0);
  const step = i32x4.splat(4);
  let idx = i32x4(0, 1, 2, 3);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(outVal + o, f32x4.add(v128.load(x + o), v128.load(residual + o)));
    v128.store(residual + o, zero);
    v128.store(outIdx + o, idx);
    idx = i32x4.add(idx, step);
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(outVal + o, load<f32>(x + o) + load<f32>(residual + o));
    store<f32>(residual + o, 0);
    store<i32>(outIdx + o, j);
  }
  return n;
}

// ---- blockwise int8 ---------------------------------------------------------------------------
//
// q = round-half-away(x / scale) is computed with an f64 division: the quotient of two f32 values
// rounded to f64 never lands on a half-integer unless it is one exactly, so q is the correctly
// rounded integer (an f32 quotient can round onto k + ½ and then away from the true nearest).
// Bound: |x − q·scale| ≤ scale/2 whenever the scale is a normal float.

/** max |x| over n values; pmax (a < b ? b : a) is one instruction on x86. */
function max_abs(x: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = f32x4.pmax(acc, f32x4.abs(v128.load(x + (<usize>j << 2))));
  let m = max(max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)));
  for (; j < n; j++) m = max(m, Mathf.abs(load<f32>(x + (<usize>j << 2))));
  return m;
}

/** Rounds both f64 lanes to the nearest integer, halves away from zero (v − trunc(v) is exact). */
// @ts-ignore: decorator
@inline function round_half_away(v: v128): v128 {
  const t = f64x2.trunc(v);
  const half = f64x2.ge(f64x2.abs(f64x2.sub(v, t)), f64x2.splat(0.5));
  const signedOne = v128.or(v128.and(v, i64x2.splat(0x8000000000000000)), f64x2.splat(1));
  return f64x2.add(t, v128.and(half, signedOne));
}

// @ts-ignore: decorator
@inline function round_half_away_scalar(v: f64): f64 {
  const t = Math.trunc(v);
  return Math.abs(v - t) >= 0.5 ? t + Math.sign(v) : t;
}

/** q[j] = round-half-away(x[j] / scale), clamped to ±127 (reached only by subnormal scales). */
function quantize_block(x: usize, q: usize, n: i32, scale: f64): void {
  const vs = f64x2.splat(scale);
  const vMin = i8x16.splat(-127);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    const lo = i32x4.trunc_sat_f64x2_s_zero(round_half_away(f64x2.div(f64x2.promote_low_f32x4(v), vs)));
    const hi = i32x4.trunc_sat_f64x2_s_zero(round_half_away(f64x2.div(f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1)), vs)));
    const w = i16x8.narrow_i32x4_s(v128.shuffle<u32>(lo, hi, 0, 1, 4, 5), lo);
    v128.store32_lane(q + <usize>j, i8x16.max_s(i8x16.narrow_i16x8_s(w, w), vMin), 0);
  }
  for (; j < n; j++) {
    const r = round_half_away_scalar(<f64>load<f32>(x + (<usize>j << 2)) / scale);
    store<i8>(q + <usize>j, <i8>min(max(r, -127.0), 127.0));
  }
}

export function quantize_int8(x: usize, q: usize, scales: usize, n: i32, block: i32): void {
  for (let s = 0, b = 0; s < n; s += block, b++) {
    const len = min(block, n - s);
    const xb = x + (<usize>s << 2);
    const qb = q + <usize>s;
    const scale = max_abs(xb, len) / 127;
    store<f32>(scales + (<usize>b << 2), scale);
    // an all-zero block, or one so tiny that its scale underflows to 0, sends zeros
    if (scale == 0) memory.fill(qb, 0, <usize>len);
    else quantize_block(xb, qb, len, <f64>scale);
  }
}

export function dequantize_int8(q: usize, scales: usize, out: usize, n: i32, block: i32): void {
  for (let s = 0, b = 0; s < n; s += block, b++) {
    const len = min(block, n - s);
    const qb = q + <usize>s;
    const ob = out + (<usize>s << 2);
    const scale = load<f32>(scales + (<usize>b << 2));
    const vs = f32x4.splat(scale);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const w = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(qb + <usize>j)));
      v128.store(ob + (<usize>j << 2), f32x4.mul(f32x4.convert_i32x4_s(w), vs));
    }
    for (; j < len; j++) store<f32>(ob + (<usize>j << 2), <f32>load<i8>(qb + <usize>j) * scale);
  }
}
