// Strided single-precision GEMM shared by the GEMM entry points and the fused kernels (attention
// projections, FFN); attention-core.ts drives the micro-kernel and the packing directly. Row strides (lda, ldb, ldc) are in floats. These functions never use the host's
// scratch region (the fused kernels that call them own it): their packing buffers are static data
// of this file.
//
// One register-blocked micro-kernel serves all three layouts. It computes a 5×8 tile of C
// (10 f32x4 accumulators) from A given as 5 floats per k (or as 5 rows that run along k) and B as
// 8 floats per k, each with a runtime k stride. An operand already laid out that way is read in
// place: whole bands of 5 rows of A in all layouts, and whole 8-column strips of B in A·B and
// Aᵀ·B. Otherwise it is packed per K-block, k-major (GotoBLAS style): B of A·Bᵀ per panel of NC
// columns (4×4 SIMD transposes), and the M and N tails (zero-padded). Measured here: 5×8 beat 4×8
// by ~7%; 6×8 spills in the SIMD build (the separate multiply needs a temporary register: 28 instead
// of 37 GFLOP/s), but the relaxed build, with fused multiply-add, runs its A·B and A·Bᵀ in bands of
// 6 rows (kernel6x8r): +3-7% there. Packing A of Aᵀ·B cost 15-20%, reading whole B strips in place
// gained 5-10%, reading the rows of A of A·B and A·Bᵀ in place instead of packing them gained 3-6%
// at M = 65 (and 2-12% at M = 4096). Unrolling k by two made V8's scheduler hoist the second
// step's loads above the first step's arithmetic, and the spills ran at 8.5 GFLOP/s.
import { hsum, madd } from "./simd";

const MR: i32 = 5; // rows of the register tile
const NR: i32 = 8; // columns of the register tile (two f32x4)
// Block of K and panel of N: a packed B panel (KC·NC floats = 24 KB) stays in L1 while every band
// of rows of A streams past it. A last panel of fewer than NR more columns joins the previous one:
// a panel of its own would pack every band of A again for a sliver of C. K-blocking also bounds the working set of Aᵀ·B, whose K (the batch
// rows of a weight gradient) runs into the thousands: there equal blocks of at most 96 beat
// blocks of 128 by 5-7%; 64 slows down K = 65 (attention, two blocks).
const KC: i32 = 96;
const NC: i32 = 64;
const packedB: usize = memory.data(KC * (NC + NR) * 4, 16);
const packedA: usize = memory.data(KC * MR * 4, 16);
// A tile that does not fit whole into C (M or N tails) is computed here, then its valid part copied.
const edgeTile: usize = memory.data(MR * NR * 4, 16);

/**
 * C[5×8] (+)= A[5×kc]·B[kc×8], or only C's first 4 columns when !wide. A holds 5 floats per k
 * (aStep bytes apart), or when rowsInPlace 5 rows aRow bytes apart; B 8 floats per k (bStep
 * apart); ldc in bytes. Inlined into the kernels with constant `wide` and `rowsInPlace`, so each
 * gets its own straight-line loop (packed A keeps constant load offsets; a runtime choice per k,
 * or the row offsets hoisted out of the loop, made V8 spill: 23 instead of 36 GFLOP/s).
 */
// @ts-ignore: decorator
@inline function tile5(pa: usize, aStep: usize, aRow: usize, pb: usize, bStep: usize, kc: i32, c: usize, ldc: usize, acc: bool, wide: bool, rowsInPlace: bool): void {
  // Loads, updates and stores go row by row, both halves together: V8's register allocator then
  // keeps all accumulators in registers (ordered by halves, it spilled two and ran 35% slower).
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  if (acc) {
    c00 = v128.load(c);
    if (wide) c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc);
    if (wide) c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc);
    if (wide) c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc);
    if (wide) c31 = v128.load(c + 3 * ldc, 16);
    c40 = v128.load(c + 4 * ldc);
    if (wide) c41 = v128.load(c + 4 * ldc, 16);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = wide ? v128.load(pb, 16) : b0;
    let x = v128.load32_splat(pa);
    c00 = madd(x, b0, c00);
    if (wide) c01 = madd(x, b1, c01);
    x = !rowsInPlace ? v128.load32_splat(pa, 4) : v128.load32_splat(pa + aRow);
    c10 = madd(x, b0, c10);
    if (wide) c11 = madd(x, b1, c11);
    x = !rowsInPlace ? v128.load32_splat(pa, 8) : v128.load32_splat(pa + 2 * aRow);
    c20 = madd(x, b0, c20);
    if (wide) c21 = madd(x, b1, c21);
    x = !rowsInPlace ? v128.load32_splat(pa, 12) : v128.load32_splat(pa + 3 * aRow);
    c30 = madd(x, b0, c30);
    if (wide) c31 = madd(x, b1, c31);
    x = !rowsInPlace ? v128.load32_splat(pa, 16) : v128.load32_splat(pa + 4 * aRow);
    c40 = madd(x, b0, c40);
    if (wide) c41 = madd(x, b1, c41);
    pa += aStep;
    pb += bStep;
  }
  v128.store(c, c00);
  if (wide) v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  if (wide) v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  if (wide) v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  if (wide) v128.store(c + 3 * ldc, c31, 16);
  v128.store(c + 4 * ldc, c40);
  if (wide) v128.store(c + 4 * ldc, c41, 16);
}

// kernel5x8 and kernel5x4 must stay separate functions: inlined into the driver, V8 spilled
// accumulators (22 instead of 37 GFLOP/s).
export function kernel5x8(pa: usize, aStep: usize, pb: usize, bStep: usize, kc: i32, c: usize, ldc: usize, acc: bool): void {
  tile5(pa, aStep, 0, pb, bStep, kc, c, ldc, acc, true, false);
}

/** kernel5x8 reading A in place from 5 rows aRow bytes apart that run along k. */
function kernel5x8r(pa: usize, aRow: usize, pb: usize, bStep: usize, kc: i32, c: usize, ldc: usize, acc: bool): void {
  tile5(pa, 4, aRow, pb, bStep, kc, c, ldc, acc, true, true);
}

/**
 * C[6×8] (+)= A·B[kc×8] with A's 6 rows read in place (aRow bytes apart, along k) and B 8 floats
 * per k (bStep apart): 12 accumulators, 2 of B and 1 of A fit the 15 registers V8 allocates only
 * with fused multiply-add (the separate multiply needs a 16th), so the relaxed build alone uses it.
 */
function kernel6x8r(pa: usize, aRow: usize, pb: usize, bStep: usize, kc: i32, c: usize, ldc: usize, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  if (acc) {
    c00 = v128.load(c);
    c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc);
    c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc);
    c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc);
    c31 = v128.load(c + 3 * ldc, 16);
    c40 = v128.load(c + 4 * ldc);
    c41 = v128.load(c + 4 * ldc, 16);
    c50 = v128.load(c + 5 * ldc);
    c51 = v128.load(c + 5 * ldc, 16);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let x = v128.load32_splat(pa);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(pa + aRow);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(pa + 2 * aRow);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(pa + 3 * aRow);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    x = v128.load32_splat(pa + 4 * aRow);
    c40 = madd(x, b0, c40);
    c41 = madd(x, b1, c41);
    x = v128.load32_splat(pa + 5 * aRow);
    c50 = madd(x, b0, c50);
    c51 = madd(x, b1, c51);
    pa += 4;
    pb += bStep;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
  v128.store(c + 4 * ldc, c40);
  v128.store(c + 4 * ldc, c41, 16);
  v128.store(c + 5 * ldc, c50);
  v128.store(c + 5 * ldc, c51, 16);
}

/** For strips of at most 4 columns (N tails): half the work of kernel5x8; A packed when aRow = 0. */
function kernel5x4(pa: usize, aStep: usize, aRow: usize, pb: usize, bStep: usize, kc: i32, c: usize, ldc: usize, acc: bool): void {
  if (aRow == 0) tile5(pa, aStep, 0, pb, bStep, kc, c, ldc, acc, false, false);
  else tile5(pa, aStep, aRow, pb, bStep, kc, c, ldc, acc, false, true);
}

/** Stores the transpose of the 4×4 block at src (rows srcStride bytes apart) as 4 rows dstStride apart. */
// @ts-ignore: decorator
@inline function transpose4(src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + srcStride);
  const r2 = v128.load(src + 2 * srcStride), r3 = v128.load(src + 3 * srcStride);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + dstStride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * dstStride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * dstStride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/**
 * Packs `count` ≤ R lines of kc elements into dst as kc groups of R floats (k-major), zero-filling
 * lines count..R-1. Element k of line l is at src + l·lStride + k·kStride bytes. Full groups of
 * lines that run along k (kStride = 4: A of A·B and A·Bᵀ, B of A·Bᵀ) go by 4×4 transposes; tails
 * element by element.
 */
export function pack(dst: usize, src: usize, lStride: usize, kStride: usize, count: i32, R: i32, kc: i32): void {
  const rowBytes = <usize>R << 2;
  let k = 0;
  if (count == R && kStride == 4) {
    const R4 = R & ~3;
    for (; k + 4 <= kc; k += 4) {
      const d = dst + <usize>k * rowBytes;
      for (let l = 0; l < R4; l += 4) transpose4(src + <usize>l * lStride + (<usize>k << 2), lStride, d + (<usize>l << 2), rowBytes);
      // the lines past the last group of 4 (the 5th of a band of A): 4 k at a time, lane by lane
      for (let l = R4; l < R; l++) {
        const v = v128.load(src + <usize>l * lStride + (<usize>k << 2));
        const o = d + (<usize>l << 2);
        v128.store32_lane(o, v, 0);
        v128.store32_lane(o + rowBytes, v, 1);
        v128.store32_lane(o + 2 * rowBytes, v, 2);
        v128.store32_lane(o + 3 * rowBytes, v, 3);
      }
    }
  }
  for (; k < kc; k++) {
    for (let l = 0; l < R; l++) {
      const v: f32 = l < count ? load<f32>(src + <usize>l * lStride + <usize>k * kStride) : 0;
      store<f32>(dst + <usize>k * rowBytes + (<usize>l << 2), v);
    }
  }
}

/**
 * C[rows×1] (+)= A[rows×K]·b for rows ≤ MR, where A's rows (aI bytes apart) and b run along k
 * contiguously: dot products vectorised along k, one accumulator per row. Rows past `rows` repeat
 * the last one, so the loop stays straight-line; only the valid results are stored.
 */
function dotColumn(a: usize, aI: usize, b: usize, K: i32, c: usize, ldc: usize, rows: i32, acc: bool): void {
  const a0 = a, a1 = a + <usize>min(1, rows - 1) * aI, a2 = a + <usize>min(2, rows - 1) * aI;
  const a3 = a + <usize>min(3, rows - 1) * aI, a4 = a + <usize>min(4, rows - 1) * aI;
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0;
  let o: usize = 0;
  const K4 = <usize>(K & ~3) << 2;
  for (; o < K4; o += 16) {
    const x = v128.load(b + o);
    s0 = madd(v128.load(a0 + o), x, s0);
    s1 = madd(v128.load(a1 + o), x, s1);
    s2 = madd(v128.load(a2 + o), x, s2);
    s3 = madd(v128.load(a3 + o), x, s3);
    s4 = madd(v128.load(a4 + o), x, s4);
  }
  let d0 = hsum(s0), d1 = hsum(s1), d2 = hsum(s2), d3 = hsum(s3), d4 = hsum(s4);
  for (const end = <usize>K << 2; o < end; o += 4) {
    const x = load<f32>(b + o);
    d0 += load<f32>(a0 + o) * x;
    d1 += load<f32>(a1 + o) * x;
    d2 += load<f32>(a2 + o) * x;
    d3 += load<f32>(a3 + o) * x;
    d4 += load<f32>(a4 + o) * x;
  }
  if (acc) d0 += load<f32>(c);
  store<f32>(c, d0);
  if (rows < 2) return;
  if (acc) d1 += load<f32>(c + ldc);
  store<f32>(c + ldc, d1);
  if (rows < 3) return;
  if (acc) d2 += load<f32>(c + 2 * ldc);
  store<f32>(c + 2 * ldc, d2);
  if (rows < 4) return;
  if (acc) d3 += load<f32>(c + 3 * ldc);
  store<f32>(c + 3 * ldc, d3);
  if (rows < 5) return;
  if (acc) d4 += load<f32>(c + 4 * ldc);
  store<f32>(c + 4 * ldc, d4);
}

function copyTile(dst: usize, dstStride: usize, src: usize, srcStride: usize, rows: i32, w: i32): void {
  for (let r = 0; r < rows; r++) memory.copy(dst + <usize>r * dstStride, src + <usize>r * srcStride, <usize>w << 2);
}

/**
 * C[M×N] (+)= A·B where A's element (i, k) is at a + i·aI + k·aK bytes and B's element (k, j) at
 * b + k·bK + j·bJ bytes; C is row-major with ldc floats.
 */
function gemm(M: i32, N: i32, K: i32, a: usize, aI: usize, aK: usize, b: usize, bK: usize, bJ: usize, c: usize, ldc: i32, accumulate: bool): void {
  if (M <= 0 || N <= 0) return;
  const ldcB = <usize>ldc << 2;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldcB, 0, <usize>N << 2);
    return;
  }
  // A·Bᵀ: 1-3 columns past the last 8-column strip are dot products of rows of A and B, read in
  // place; through a 4-column strip they cost 4× the work plus packing
  if (aK == 4 && bK == 4 && (N & 7) < 4) {
    const tail = N & 7;
    N -= tail;
    for (let j = N; j < N + tail; j++) {
      const cj = c + (<usize>j << 2), bj = b + <usize>j * bJ;
      for (let i0 = 0; i0 < M; i0 += MR) dotColumn(a + <usize>i0 * aI, aI, bj, K, cj + <usize>i0 * ldcB, ldcB, min(MR, M - i0), accumulate);
    }
  }
  // K in equal blocks of at most KC, so that no block is a sliver
  const blocks = (K + KC - 1) / KC;
  const kStep = (K + blocks - 1) / blocks;
  for (let k0 = 0; k0 < K; k0 += kStep) {
    const kc = min(kStep, K - k0);
    const acc = accumulate || k0 > 0;
    const stripBytes = <usize>(kc * NR) << 2;
    for (let j0 = 0, nc = 0; j0 < N; j0 += nc) {
      nc = N - j0 < NC + NR ? N - j0 : NC;
      const bPanel = b + <usize>k0 * bK + <usize>j0 * bJ;
      // B rows contiguous (NN, TN): whole strips are read in place, only a partial one is packed
      const direct = bJ == 4;
      for (let j = 0; j < nc; j += NR) {
        const w = min(NR, nc - j);
        if (!direct || w < NR) pack(packedB + <usize>(j / NR) * stripBytes, bPanel + <usize>j * bJ, bJ, bK, w, NR, kc);
      }
      // relaxed build, A's rows along k (A·B, A·Bᵀ), a panel of whole strips: bands of 6 rows
      let first = 0;
      if (ASC_FEATURE_RELAXED_SIMD && aK == 4 && aI != 4 && (nc & 7) == 0) {
        const M6 = M - M % 6;
        for (let i0 = 0; i0 < M6; i0 += 6) {
          const pa = a + <usize>i0 * aI + <usize>k0 * aK;
          for (let j = 0; j < nc; j += NR) {
            let pb = packedB + <usize>(j / NR) * stripBytes, bStep: usize = NR << 2;
            if (direct) {
              pb = bPanel + (<usize>j << 2);
              bStep = bK;
            }
            kernel6x8r(pa, aI, pb, bStep, kc, c + <usize>i0 * ldcB + (<usize>(j0 + j) << 2), ldcB, acc);
          }
        }
        first = M6;
      }
      for (let i0 = first; i0 < M; i0 += MR) {
        const rows = min(MR, M - i0);
        // A whole band is read in place: in TN as 5 floats per k, in NN and NT as 5 rows along k
        let pa = a + <usize>i0 * aI + <usize>k0 * aK, aStep = aK, aRow: usize = 0;
        if (rows == MR && aI != 4 && aK == 4) {
          aStep = 4;
          aRow = aI;
        } else if (!(aI == 4 && rows == MR)) {
          pack(packedA, pa, aI, aK, rows, MR, kc);
          pa = packedA;
          aStep = MR << 2;
        }
        for (let j = 0; j < nc; j += NR) {
          const w = min(NR, nc - j);
          let pb = packedB + <usize>(j / NR) * stripBytes, bStep: usize = NR << 2;
          if (direct && w == NR) {
            pb = bPanel + (<usize>j << 2);
            bStep = bK;
          }
          const ct = c + <usize>i0 * ldcB + (<usize>(j0 + j) << 2);
          if (rows == MR && w == NR) {
            if (aRow == 0) kernel5x8(pa, aStep, pb, bStep, kc, ct, ldcB, acc);
            else kernel5x8r(pa, aRow, pb, bStep, kc, ct, ldcB, acc);
          } else if (rows == MR && w == 4) {
            kernel5x4(pa, aStep, aRow, pb, bStep, kc, ct, ldcB, acc);
          } else {
            if (acc) copyTile(edgeTile, NR << 2, ct, ldcB, rows, w);
            if (w <= 4) kernel5x4(pa, aStep, aRow, pb, bStep, kc, edgeTile, NR << 2, acc);
            else if (aRow == 0) kernel5x8(pa, aStep, pb, bStep, kc, edgeTile, NR << 2, acc);
            else kernel5x8r(pa, aRow, pb, bStep, kc, edgeTile, NR << 2, acc);
            copyTile(ct, ldcB, edgeTile, NR << 2, rows, w);
          }
        }
      }
    }
  }
}

/** C[M×N] (+)= A[M×K]·B[K×N]. */
export function sgemm_nn(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  gemm(M, N, K, a, <usize>lda << 2, 4, b, <usize>ldb << 2, 4, c, ldc, accumulate);
}

/** C[M×N] (+)= A[M×K]·B[N×K]ᵀ. */
export function sgemm_nt(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  gemm(M, N, K, a, <usize>lda << 2, 4, b, 4, <usize>ldb << 2, c, ldc, accumulate);
}

/** C[M×N] (+)= A[K×M]ᵀ·B[K×N]. */
export function sgemm_tn(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  gemm(M, N, K, a, 4, <usize>lda << 2, b, <usize>ldb << 2, 4, c, ldc, accumulate);
}
