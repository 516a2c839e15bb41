// The T×T part of attention for one head of one batch row, driving sgemm.ts's 5×8 micro-kernel
// directly (at T = 65 the general GEMM ran these products at 25–35 GFLOP/s: it repacked the keys
// for every causal block of queries, and the 65th column and row went through edge tiles).
//
// Scores are computed transposed, Sᵀ[key × query], into scratch whose row length is a whole
// number of 8-column strips, so no tile is ever cut:
// - keys and queries are each packed once per head (keys in bands of 5, queries in strips of 8),
//   and causality skips whole 5×8 tiles instead of blocks of 20 query rows;
// - the softmax of 4 queries runs down 4 columns at once, with lane-wise max and sum (no
//   horizontal reductions, no row tails), and masking is a per-key splat;
// - 5 consecutive queries of one key are contiguous, which is exactly the A operand the micro-kernel
//   reads for P·V (and dS·K in the backward pass): no packing of P;
// - P itself is written to its save slot by 4×4 transposes, normalised on the way.
// Indices below are relative: key kr is key c0 + kr (c0 the first real key), query qr is t0 + qr.
import { kernel5x8, pack } from "./sgemm";
import { madd } from "./simd";
import { exp4 } from "./vmath";

const MR: i32 = 5; // rows of the micro-kernel's tile (keys of the scores, queries of P·V)
const NR: i32 = 8; // columns of the micro-kernel's tile

// @ts-ignore: decorator
@inline function at(p: usize, floats: i32): usize {
  return p + (<usize>floats << 2);
}

// @ts-ignore: decorator
@inline function roundUp(n: i32, m: i32): i32 {
  return (n + m - 1) / m * m;
}

/** Row length of Sᵀ for n queries: whole strips of 8, and room for the last band of 5 queries. */
// @ts-ignore: decorator
@inline function ldS(n: i32): i32 {
  return (n + 4 + 7) & ~7;
}

/** Floats of scratch headForward needs (a multiple of 4, so that regions stay 16-byte aligned). */
export function headForwardScratch(T: i32, dh: i32): i32 {
  const dh8 = roundUp(dh, NR);
  const keys = roundUp(T, MR) * dh; // packed keys
  const queries = roundUp(T, NR) * dh; // packed queries
  const st = (T + MR) * ldS(T); // Sᵀ
  const vt = T * NR; // V's last partial strip of columns, packed
  const c = roundUp(T, MR) * dh8; // P·V before normalisation
  return roundUp(keys, 4) + roundUp(queries, 4) + st + vt + c + ldS(T);
}

/** The four i32 lanes g, g+1, g+2, g+3: query indices of a group, for causal lane masks. */
// @ts-ignore: decorator
@inline function lanesFrom(g: i32): v128 {
  return i32x4.add(i32x4.splat(g), i32x4(0, 1, 2, 3));
}

/**
 * Softmax of the queries g..g+3 (columns of Sᵀ, keys 0..last), in place, unnormalised: the
 * exponentials are left in Sᵀ and 1/Σ is stored at inv + g. Masked entries become 0. mrow points at
 * the mask of key 0. When causal, key kr is masked for the queries below it, and keys last+1 ..
 * zeroEnd-1 are zeroed, since P·V reads a band of 5 queries up to its last row's key.
 */
function softmaxColumns(st: usize, ld: i32, g: i32, last: i32, zeroEnd: i32, mrow: usize, scale: f32, causal: bool, inv: usize): void {
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  const q = lanesFrom(g);
  const ldB = <usize>ld << 2;
  const col = at(st, g);
  // below the group's first query, causality masks nothing
  const free = causal ? min(g, last + 1) : last + 1;
  let vmax = ninf;
  let p = col;
  for (let kr = 0; kr < free; kr++, p += ldB) {
    const real = f32x4.ne(v128.load32_splat(at(mrow, kr)), zero);
    vmax = f32x4.pmax(vmax, v128.bitselect(v128.load(p), ninf, real));
  }
  for (let kr = free; kr <= last; kr++, p += ldB) {
    const real = v128.and(f32x4.ne(v128.load32_splat(at(mrow, kr)), zero), i32x4.ge_s(q, i32x4.splat(kr)));
    vmax = f32x4.pmax(vmax, v128.bitselect(v128.load(p), ninf, real));
  }
  const vs = f32x4.splat(scale);
  const shift = f32x4.neg(f32x4.mul(vmax, vs));
  let vsum = zero;
  p = col;
  for (let kr = 0; kr < free; kr++, p += ldB) {
    const real = f32x4.ne(v128.load32_splat(at(mrow, kr)), zero);
    const e = v128.and(exp4(madd(v128.load(p), vs, shift)), real);
    v128.store(p, e);
    vsum = f32x4.add(vsum, e);
  }
  for (let kr = free; kr <= last; kr++, p += ldB) {
    const real = v128.and(f32x4.ne(v128.load32_splat(at(mrow, kr)), zero), i32x4.ge_s(q, i32x4.splat(kr)));
    const e = v128.and(exp4(madd(v128.load(p), vs, shift)), real);
    v128.store(p, e);
    vsum = f32x4.add(vsum, e);
  }
  for (let kr = last + 1; kr < zeroEnd; kr++, p += ldB) v128.store(p, zero);
  v128.store(at(inv, g), f32x4.div(f32x4.splat(1), vsum));
}

/**
 * Rows g..g+valid-1 of P (queries t0 + g.., in the save slot at P, T floats per row): 0 before key
 * c0, then the normalised exponentials of keys 0..kend-1 from Sᵀ's columns g..g+3, then 0.
 */
function writeP(st: usize, ld: i32, g: i32, valid: i32, kend: i32, inv: usize, P: usize, T: i32, t0: i32, c0: i32): void {
  const vinv = v128.load(at(inv, g));
  const ldB = <usize>ld << 2;
  const rowB = <usize>T << 2;
  const row0 = at(P, (t0 + g) * T);
  for (let l = 0; l < valid; l++) memory.fill(row0 + <usize>l * rowB, 0, <usize>c0 << 2);
  let kr = 0;
  let src = at(st, g);
  for (; kr + 4 <= kend; kr += 4, src += 4 * ldB) {
    const r0 = f32x4.mul(v128.load(src), vinv), r1 = f32x4.mul(v128.load(src + ldB), vinv);
    const r2 = f32x4.mul(v128.load(src + 2 * ldB), vinv), r3 = f32x4.mul(v128.load(src + 3 * ldB), vinv);
    const t0v = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1v = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
    const t2v = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3v = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
    const dst = at(row0, c0 + kr);
    v128.store(dst, v128.shuffle<f32>(t0v, t1v, 0, 1, 4, 5));
    if (valid > 1) v128.store(dst + rowB, v128.shuffle<f32>(t0v, t1v, 2, 3, 6, 7));
    if (valid > 2) v128.store(dst + 2 * rowB, v128.shuffle<f32>(t2v, t3v, 0, 1, 4, 5));
    if (valid > 3) v128.store(dst + 3 * rowB, v128.shuffle<f32>(t2v, t3v, 2, 3, 6, 7));
  }
  for (; kr < kend; kr++, src += ldB) {
    for (let l = 0; l < valid; l++) {
      store<f32>(at(row0 + <usize>l * rowB, c0 + kr), load<f32>(at(src, l)) * load<f32>(at(inv, g + l)));
    }
  }
  for (let l = 0; l < valid; l++) memory.fill(at(row0 + <usize>l * rowB, c0 + kend), 0, <usize>(T - c0 - kend) << 2);
}

/**
 * One head of one batch row, forward: P rows t0..T-1 (the head's slot, T×T) and ctx rows t0..T-1
 * (row stride d) from Q, K, V (pointers at the head's first column, row stride d). c0 < T is the
 * first real key, t0 the first query that sees one. scr: headForwardScratch(T, dh) floats.
 */
export function headForward(
  Q: usize, K: usize, V: usize, mask: usize, P: usize, ctx: usize,
  T: i32, d: i32, dh: i32, c0: i32, t0: i32, scale: f32, causal: bool, scr: usize,
): void {
  const nk = T - c0;
  const nq = T - t0;
  const ld = ldS(nq);
  const dh8 = roundUp(dh, NR);
  const dB = <usize>d << 2;
  const kp = scr;
  const qp = at(kp, roundUp(roundUp(nk, MR) * dh, 4));
  const st = at(qp, roundUp(roundUp(nq, NR) * dh, 4));
  const vt = at(st, (nk + MR) * ld);
  const cb = at(vt, nk * NR);
  const inv = at(cb, roundUp(nq, MR) * dh8);
  const bandB = <usize>(MR * dh) << 2;
  const stripB = <usize>(NR * dh) << 2;
  // pack keys in bands of 5 and queries in strips of 8, k-major, zero-padded
  for (let kr = 0; kr < nk; kr += MR) pack(kp + <usize>(kr / MR) * bandB, at(K, (c0 + kr) * d), dB, 4, min(MR, nk - kr), MR, dh);
  for (let qr = 0; qr < nq; qr += NR) pack(qp + <usize>(qr / NR) * stripB, at(Q, (t0 + qr) * d), dB, 4, min(NR, nq - qr), NR, dh);
  // Sᵀ tiles: when causal (then t0 = c0) a band of keys needs only the queries from its first key on
  const ldB = <usize>ld << 2;
  for (let kr = 0; kr < nk; kr += MR) {
    const a = kp + <usize>(kr / MR) * bandB;
    for (let j = causal ? kr & ~(NR - 1) : 0; j < nq; j += NR) {
      kernel5x8(a, MR << 2, qp + <usize>(j / NR) * stripB, NR << 2, dh, at(st, kr * ld + j), ldB, false);
    }
  }
  const mrow = at(mask, c0);
  for (let g = 0; g < nq; g += 4) {
    const last = causal ? min(nk - 1, g + 3) : nk - 1;
    softmaxColumns(st, ld, g, last, causal ? min(nk, g + 8) : 0, mrow, scale, causal, inv);
    writeP(st, ld, g, min(4, nq - g), last + 1, inv, P, T, t0, c0);
  }
  // unnormalised ctx = E·V: a band of 5 queries reads its 5 columns of Sᵀ in place
  const tail = dh & ~(NR - 1);
  if (tail < dh) pack(vt, at(V, c0 * d + tail), 4, dB, dh - tail, NR, nk);
  const dh8B = <usize>dh8 << 2;
  for (let qr = 0; qr < nq; qr += MR) {
    const kc = causal ? min(qr + MR, nk) : nk;
    for (let j = 0; j < dh; j += NR) {
      const full = j + NR <= dh;
      const b = full ? at(V, c0 * d + j) : vt;
      kernel5x8(at(st, qr), ldB, b, full ? dB : NR << 2, kc, cb + <usize>qr * dh8B + (<usize>j << 2), dh8B, false);
    }
  }
  // ctx rows = (E·V)/Σ
  for (let qr = 0; qr < nq; qr++) {
    const s = load<f32>(at(inv, qr));
    const vsc = f32x4.splat(s);
    const src = cb + <usize>qr * dh8B;
    const dst = at(ctx, (t0 + qr) * d);
    let j = 0;
    for (; j + 4 <= dh; j += 4) v128.store(at(dst, j), f32x4.mul(v128.load(at(src, j)), vsc));
    for (; j < dh; j++) store<f32>(at(dst, j), load<f32>(at(src, j)) * s);
  }
}
