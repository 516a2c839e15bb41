// Vectorised elementary functions on f32x4, for kernels whose scalar Math calls would dominate
// (softmax in attention). Not exported from index.ts: a helper module for kernel files.
import { madd } from "./simd";

// exp(x) = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 in [−ln2/2, ln2/2]; ln 2 is split
// in two (Cody–Waite) so that n·LN2_HI is exact and r keeps full precision.
const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// e^r ≈ 1 + r + r²·(C2 + C3·r + C4·r² + C5·r³ + C6·r⁴): coefficients fitted by iteratively
// reweighted least squares for minimax *relative* error on [−ln2/2, ln2/2] (3.1e-9 in exact
// arithmetic, far below f32 rounding, so the error below is rounding alone).
const C2: f32 = 0.49999993;
const C3: f32 = 0.16666521;
const C4: f32 = 0.041668389;
const C5: f32 = 0.0083687082;
const C6: f32 = 0.0013814593;
// Outside [EXP_LO, EXP_HI] the result is 0 (e^−104 < half the least subnormal) or +Inf.
const EXP_LO: f32 = -104;
const EXP_HI: f32 = 89;
// 1.5·2²³: adding it rounds any |v| < 2²² to an integer held in the low mantissa bits.
const ROUND_MAGIC: f32 = 12582912;

/**
 * e^x lane-wise. Max relative error 1.2e-7 (1.3 ulp) with or without fused multiply-add, measured
 * against Math.exp at 2²² evenly spaced points of [−87.3, 88.7] (normal results); subnormal
 * results are within one subnormal ulp; overflow gives +Inf, underflow 0, NaN gives NaN.
 */
// The constants above, each splatted to 16 bytes: V8 rebuilds a v128.const with three
// instructions at every use inside a loop, while a load from this table is one (and hits L1).
const TABLE = memory.data<f32>([
  EXP_LO, EXP_LO, EXP_LO, EXP_LO, EXP_HI, EXP_HI, EXP_HI, EXP_HI,
  LOG2E, LOG2E, LOG2E, LOG2E, ROUND_MAGIC, ROUND_MAGIC, ROUND_MAGIC, ROUND_MAGIC,
  -LN2_HI, -LN2_HI, -LN2_HI, -LN2_HI, -LN2_LO, -LN2_LO, -LN2_LO, -LN2_LO,
  C2, C2, C2, C2, C3, C3, C3, C3, C4, C4, C4, C4, C5, C5, C5, C5, C6, C6, C6, C6,
  1, 1, 1, 1,
], 16);
const K_LO = 0, K_HI = 1, K_LOG2E = 2, K_MAGIC = 3, K_NLN2_HI = 4, K_NLN2_LO = 5;
const K_C2 = 6, K_C3 = 7, K_C4 = 8, K_C5 = 9, K_C6 = 10, K_ONE = 11;

// @ts-ignore: decorator
@inline function k(i: i32): v128 {
  return v128.load(TABLE + (<usize>i << 4));
}

// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // pmin/pmax are single instructions on x64 (min/max are not); in this operand order a NaN x
  // passes through both, and stays NaN through every step below
  const xc = f32x4.pmin(f32x4.pmax(x, k(K_LO)), k(K_HI));
  // n = round-to-nearest(x·log2 e) by adding 1.5·2²³: the sum's low mantissa bits hold n as an
  // integer, so n needs neither f32x4.nearest nor a float-to-int conversion
  const t = madd(xc, k(K_LOG2E), k(K_MAGIC));
  const n = f32x4.sub(t, k(K_MAGIC));
  const ni = i32x4.sub(t, k(K_MAGIC));
  let r = madd(n, k(K_NLN2_HI), xc);
  r = madd(n, k(K_NLN2_LO), r);
  let p = madd(k(K_C6), r, k(K_C5));
  p = madd(p, r, k(K_C4));
  p = madd(p, r, k(K_C3));
  p = madd(p, r, k(K_C2));
  p = madd(p, f32x4.mul(r, r), f32x4.add(r, k(K_ONE)));
  // 2^n as 2^n1 · 2^n2 with n1 = ⌊n/2⌋: both halves are normal for every n in [−150, 129], so
  // the products round once into the subnormal range or overflow exactly to +Inf
  const n1 = i32x4.shr_s(ni, 1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, n1), bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}
