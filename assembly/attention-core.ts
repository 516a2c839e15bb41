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
// When causal, query qr sits in column qr + sh of Sᵀ, with sh chosen so that the last query ends a
// strip: the strip cut short is then the first one, which only the first band of keys needs (at
// T = 65 a lone 65th query column cost a tile in every band: 74 tiles instead of 63).
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
  const keys = roundUp(T, MR) * dh; // packed keys
  const queries = roundUp(T + NR - 1, NR) * dh; // packed queries, shifted by up to 7 columns
  const st = (T + MR) * ldS(T + NR - 1); // Sᵀ
  const vt = T * NR; // V's last partial strip of columns, packed
  return roundUp(keys, 4) + roundUp(queries, 4) + st + vt + ldS(T + NR - 1);
}

/** n floats at p = 0 (a vector loop: memory.fill costs a call each in V8, and rows are short). */
// @ts-ignore: decorator
@inline function zeros(p: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(p, j), f32x4.splat(0));
  for (; j < n; j++) store<f32>(at(p, j), 0);
}

/**
 * Packs rows 0..nq-1 of src (dB bytes apart, dh floats each) as strips of 8 k-major columns,
 * row q in column q + sh (sh < 8); the columns before sh and after the last row are 0.
 */
function packQueries(dst: usize, src: usize, dB: usize, sh: i32, nq: i32, dh: i32): void {
  const stripB = <usize>(NR * dh) << 2;
  let s = 0;
  if (sh > 0) {
    for (let k = 0; k < dh; k++) {
      for (let l = 0; l < NR; l++) {
        const q = l - sh;
        store<f32>(at(dst, k * NR + l), q >= 0 && q < nq ? load<f32>(src + <usize>q * dB + (<usize>k << 2)) : 0);
      }
    }
    s = 1;
  }
  for (; s * NR - sh < nq; s++) {
    const q0 = s * NR - sh;
    pack(dst + <usize>s * stripB, src + <usize>q0 * dB, dB, 4, min(NR, nq - q0), NR, dh);
  }
}

/** The four i32 lanes g, g+1, g+2, g+3: query indices of a group, for causal lane masks. */
// @ts-ignore: decorator
@inline function lanesFrom(g: i32): v128 {
  return i32x4.add(i32x4.splat(g), i32x4(0, 1, 2, 3));
}

/**
 * Softmax of the queries g..g+3 (columns c..c+3 of Sᵀ, keys 0..last), in place, unnormalised:
 * the exponentials are left in Sᵀ and 1/Σ is stored at inv + c. holes: whether any of the keys is
 * padding (the model's left-padded rows have none after the first real key: no mask to apply). Masked entries become 0. mrow points at
 * the mask of key 0. When causal, key kr is masked for the queries below it, and keys last+1 ..
 * zeroEnd-1 are zeroed, since P·V reads a band of 5 queries up to its last row's key.
 */
function softmaxColumns(
  st: usize, ld: i32, c: i32, g: i32, last: i32, zeroEnd: i32, mrow: usize, holes: bool, scale: f32, causal: bool, inv: usize,
): void {
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  const q = lanesFrom(g);
  const ldB = <usize>ld << 2;
  const col = at(st, c);
  // below the group's first query, causality masks nothing
  const free = causal ? max(0, min(g, last + 1)) : last + 1;
  let vmax = ninf;
  let p = col;
  if (holes) {
    for (let kr = 0; kr < free; kr++, p += ldB) {
      const real = f32x4.ne(v128.load32_splat(at(mrow, kr)), zero);
      vmax = f32x4.pmax(vmax, v128.bitselect(v128.load(p), ninf, real));
    }
  } else {
    for (let kr = 0; kr < free; kr++, p += ldB) vmax = f32x4.pmax(vmax, v128.load(p));
  }
  for (let kr = free; kr <= last; kr++, p += ldB) {
    const real = v128.and(f32x4.ne(v128.load32_splat(at(mrow, kr)), zero), i32x4.ge_s(q, i32x4.splat(kr)));
    vmax = f32x4.pmax(vmax, v128.bitselect(v128.load(p), ninf, real));
  }
  const vs = f32x4.splat(scale);
  const shift = f32x4.neg(f32x4.mul(vmax, vs));
  let vsum = zero;
  p = col;
  if (holes) {
    for (let kr = 0; kr < free; kr++, p += ldB) {
      const real = f32x4.ne(v128.load32_splat(at(mrow, kr)), zero);
      const e = v128.and(exp4(madd(v128.load(p), vs, shift)), real);
      v128.store(p, e);
      vsum = f32x4.add(vsum, e);
    }
  } else {
    for (let kr = 0; kr < free; kr++, p += ldB) {
      const e = exp4(madd(v128.load(p), vs, shift));
      v128.store(p, e);
      vsum = f32x4.add(vsum, e);
    }
  }
  for (let kr = free; kr <= last; kr++, p += ldB) {
    const real = v128.and(f32x4.ne(v128.load32_splat(at(mrow, kr)), zero), i32x4.ge_s(q, i32x4.splat(kr)));
    const e = v128.and(exp4(madd(v128.load(p), vs, shift)), real);
    v128.store(p, e);
    vsum = f32x4.add(vsum, e);
  }
  for (let kr = last + 1; kr < zeroEnd; kr++, p += ldB) v128.store(p, zero);
  v128.store(at(inv, c), f32x4.div(f32x4.splat(1), vsum));
}

/**
 * Rows of P for the queries g + lo .. g + hi - 1 (t0 + g + l in the save slot at P, T floats per
 * row): 0 before key c0, then the normalised exponentials of keys 0..kend-1 from Sᵀ's columns
 * c + lo .. c + hi - 1, then 0. Sᵀ's columns are normalised in place too, for P·V.
 */
function writeP(st: usize, ld: i32, c: i32, g: i32, lo: i32, hi: i32, kend: i32, inv: usize, P: usize, T: i32, t0: i32, c0: i32): void {
  const vinv = v128.load(at(inv, c));
  const ldB = <usize>ld << 2;
  const rowB = <usize>T << 2;
  const row0 = at(P, (t0 + g) * T);
  for (let l = lo; l < hi; l++) zeros(row0 + <usize>l * rowB, c0);
  let kr = 0;
  let src = at(st, c);
  for (; kr + 4 <= kend; kr += 4, src += 4 * ldB) {
    const r0 = f32x4.mul(v128.load(src), vinv), r1 = f32x4.mul(v128.load(src + ldB), vinv);
    const r2 = f32x4.mul(v128.load(src + 2 * ldB), vinv), r3 = f32x4.mul(v128.load(src + 3 * ldB), vinv);
    v128.store(src, r0);
    v128.store(src + ldB, r1);
    v128.store(src + 2 * ldB, r2);
    v128.store(src + 3 * ldB, r3);
    const t0v = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1v = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
    const t2v = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3v = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
    const dst = at(row0, c0 + kr);
    if (lo == 0) v128.store(dst, v128.shuffle<f32>(t0v, t1v, 0, 1, 4, 5));
    if (lo <= 1 && hi > 1) v128.store(dst + rowB, v128.shuffle<f32>(t0v, t1v, 2, 3, 6, 7));
    if (lo <= 2 && hi > 2) v128.store(dst + 2 * rowB, v128.shuffle<f32>(t2v, t3v, 0, 1, 4, 5));
    if (hi > 3) v128.store(dst + 3 * rowB, v128.shuffle<f32>(t2v, t3v, 2, 3, 6, 7));
  }
  for (; kr < kend; kr++, src += ldB) {
    for (let l = lo; l < hi; l++) {
      const v = load<f32>(at(src, l)) * load<f32>(at(inv, c + l));
      store<f32>(at(src, l), v);
      store<f32>(at(row0 + <usize>l * rowB, c0 + kr), v);
    }
  }
  for (let l = lo; l < hi; l++) zeros(at(row0 + <usize>l * rowB, c0 + kend), T - c0 - kend);
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
  const sh = causal ? (NR - nq % NR) % NR : 0;
  const ld = ldS(nq + sh);
  const dB = <usize>d << 2;
  const kp = scr;
  const qp = at(kp, roundUp(roundUp(nk, MR) * dh, 4));
  const st = at(qp, roundUp(roundUp(nq + sh, NR) * dh, 4));
  const vt = at(st, (nk + MR) * ld);
  const inv = at(vt, nk * NR);
  const bandB = <usize>(MR * dh) << 2;
  const stripB = <usize>(NR * dh) << 2;
  // pack keys in bands of 5 and queries in strips of 8, k-major, zero-padded
  for (let kr = 0; kr < nk; kr += MR) pack(kp + <usize>(kr / MR) * bandB, at(K, (c0 + kr) * d), dB, 4, min(MR, nk - kr), MR, dh);
  packQueries(qp, at(Q, t0 * d), dB, sh, nq, dh);
  // Sᵀ tiles: when causal (then t0 = c0) a band of keys needs only the queries from its first key on
  const ldB = <usize>ld << 2;
  for (let kr = 0; kr < nk; kr += MR) {
    const a = kp + <usize>(kr / MR) * bandB;
    for (let j = causal ? (kr + sh) & ~(NR - 1) : 0; j < nq + sh; j += NR) {
      kernel5x8(a, MR << 2, qp + <usize>(j / NR) * stripB, NR << 2, dh, at(st, kr * ld + j), ldB, false);
    }
  }
  const mrow = at(mask, c0);
  let holes = false;
  for (let kr = 0; kr < nk; kr++) holes = holes || load<f32>(at(mrow, kr)) == 0;
  for (let c = 0; c < nq + sh; c += 4) {
    const g = c - sh;
    if (g + 3 < 0) continue;
    const last = causal ? min(nk - 1, g + 3) : nk - 1;
    softmaxColumns(st, ld, c, g, last, causal ? min(nk, g + 8) : 0, mrow, holes, scale, causal, inv);
    writeP(st, ld, c, g, max(0, -g), min(4, nq - g), last + 1, inv, P, T, t0, c0);
  }
  // ctx = P·V: a band of 5 queries reads its 5 columns of Sᵀ in place
  const tail = dh & ~(NR - 1);
  if (tail < dh) pack(vt, at(V, c0 * d + tail), 4, dB, dh - tail, NR, nk);
  for (let qr = 0; qr < nq; qr += MR) {
    const kc = causal ? min(qr + MR, nk) : nk;
    for (let j = 0; j < dh; j += NR) {
      const full = j + NR <= dh;
      const b = full ? at(V, c0 * d + j) : vt;
      tileTo(at(st, qr + sh), ldB, b, full ? dB : NR << 2, kc, at(ctx, (t0 + qr) * d + j), dB, min(MR, nq - qr), min(NR, dh - j));
    }
  }
}

// A tile cut by the end of the rows or columns goes through here, then its valid part is copied.
const edgeTile: usize = memory.data(MR * NR * 4, 16);

/** dst[rows×cols] (row stride dstB bytes) = the micro-kernel's 5×8 product (not accumulated). */
function tileTo(pa: usize, aStep: usize, pb: usize, bStep: usize, kc: i32, dst: usize, dstB: usize, rows: i32, cols: i32): void {
  if (rows == MR && cols == NR) {
    kernel5x8(pa, aStep, pb, bStep, kc, dst, dstB, false);
    return;
  }
  kernel5x8(pa, aStep, pb, bStep, kc, edgeTile, NR << 2, false);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) store<f32>(at(dst + <usize>r * dstB, j), load<f32>(at(edgeTile, r * NR + j)));
  }
}

/** Floats of scratch headBackward needs (a multiple of 4). */
export function headBackwardScratch(T: i32, dh: i32): i32 {
  const bands = roundUp(roundUp(T, MR) * dh, 4);
  const strips = roundUp(roundUp(T + NR - 1, NR) * dh, 4);
  const st = (T + MR) * ldS(T + NR - 1);
  const r = roundUp(T + NR - 1, 4) * roundUp(T + MR, 4);
  return bands + strips + st + r + 3 * T * NR + roundUp(MR * T, 4) + ldS(T + NR - 1);
}

/**
 * dS for the queries g + lo .. g + hi - 1 (Sᵀ columns c..c+3), keys 0..kend-1: Sᵀ holds dPᵀ on entry
 * and dSᵀ = scale·Pᵀ ⊙ (dPᵀ − D) on return, and the rows c..c+3 of R (ldR floats each) receive dS.
 * P is read by 4×4 transposes from its rows (query t0 + g + l at p0 + l·T floats, key 0 first).
 */
function dsColumns(
  st: usize, ld: i32, c: i32, lo: i32, hi: i32, kend: i32, zeroEnd: i32, p0: usize, T: i32, D: usize, scale: f32, r: usize, ldR: i32,
): void {
  const zero = f32x4.splat(0);
  const vs = f32x4.splat(scale);
  const vD = v128.load(at(D, c));
  const ldB = <usize>ld << 2;
  const rowB = <usize>T << 2;
  const rB = <usize>ldR << 2;
  const r0p = at(r, c * ldR);
  let src = at(st, c);
  let kr = 0;
  for (; kr + 4 <= kend; kr += 4, src += 4 * ldB) {
    const pp = at(p0, kr);
    // rows of P for the queries (lanes outside lo..hi-1 are not rows of P: zeros stand in)
    const x0 = lo == 0 ? v128.load(pp) : zero;
    const x1 = lo <= 1 && hi > 1 ? v128.load(pp + rowB) : zero;
    const x2 = lo <= 2 && hi > 2 ? v128.load(pp + 2 * rowB) : zero;
    const x3 = hi > 3 ? v128.load(pp + 3 * rowB) : zero;
    let a0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), a1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
    let a2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), a3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
    // one key per vector, the 4 queries in lanes
    const s0 = f32x4.mul(f32x4.mul(v128.shuffle<f32>(a0, a1, 0, 1, 4, 5), vs), f32x4.sub(v128.load(src), vD));
    const s1 = f32x4.mul(f32x4.mul(v128.shuffle<f32>(a0, a1, 2, 3, 6, 7), vs), f32x4.sub(v128.load(src + ldB), vD));
    const s2 = f32x4.mul(f32x4.mul(v128.shuffle<f32>(a2, a3, 0, 1, 4, 5), vs), f32x4.sub(v128.load(src + 2 * ldB), vD));
    const s3 = f32x4.mul(f32x4.mul(v128.shuffle<f32>(a2, a3, 2, 3, 6, 7), vs), f32x4.sub(v128.load(src + 3 * ldB), vD));
    v128.store(src, s0);
    v128.store(src + ldB, s1);
    v128.store(src + 2 * ldB, s2);
    v128.store(src + 3 * ldB, s3);
    a0 = v128.shuffle<f32>(s0, s1, 0, 4, 1, 5);
    a1 = v128.shuffle<f32>(s2, s3, 0, 4, 1, 5);
    a2 = v128.shuffle<f32>(s0, s1, 2, 6, 3, 7);
    a3 = v128.shuffle<f32>(s2, s3, 2, 6, 3, 7);
    const dst = at(r0p, kr);
    v128.store(dst, v128.shuffle<f32>(a0, a1, 0, 1, 4, 5));
    v128.store(dst + rB, v128.shuffle<f32>(a0, a1, 2, 3, 6, 7));
    v128.store(dst + 2 * rB, v128.shuffle<f32>(a2, a3, 0, 1, 4, 5));
    v128.store(dst + 3 * rB, v128.shuffle<f32>(a2, a3, 2, 3, 6, 7));
  }
  for (; kr < kend; kr++, src += ldB) {
    for (let l = lo; l < hi; l++) {
      const s = load<f32>(at(p0 + <usize>l * rowB, kr)) * scale * (load<f32>(at(src, l)) - load<f32>(at(D, c + l)));
      store<f32>(at(src, l), s);
      store<f32>(at(r0p + <usize>l * rB, kr), s);
    }
  }
  // when causal, a band of 5 reads up to 4 keys past its diagonal: those entries of dS are 0
  for (; kr < zeroEnd; kr++, src += ldB) {
    v128.store(src, zero);
    for (let l = 0; l < 4; l++) store<f32>(at(r0p + <usize>l * rB, kr), 0);
  }
}

/**
 * One head of one batch row, backward: dQ rows t0..T-1, dK and dV rows c0..T-1 (row stride d,
 * written, not accumulated) from dctx and the forward's Q, K, V, ctx, P (the same pointer
 * conventions as headForward). scr: headBackwardScratch(T, dh) floats.
 */
export function headBackward(
  Q: usize, K: usize, V: usize, ctx: usize, P: usize, dctx: usize, dQ: usize, dK: usize, dV: usize,
  T: i32, d: i32, dh: i32, c0: i32, t0: i32, scale: f32, causal: bool, scr: usize,
): void {
  const nk = T - c0;
  const nq = T - t0;
  const sh = causal ? (NR - nq % NR) % NR : 0;
  const ld = ldS(nq + sh);
  const ldR = roundUp(nk + MR, 4);
  const dB = <usize>d << 2;
  const ldB = <usize>ld << 2;
  const rB = <usize>ldR << 2;
  const rowB = <usize>T << 2;
  const vp = scr;
  const gp = at(vp, roundUp(roundUp(nk, MR) * dh, 4));
  const st = at(gp, roundUp(roundUp(nq + sh, NR) * dh, 4));
  const r = at(st, (nk + MR) * ld);
  const ktl = at(r, roundUp(nq + sh, 4) * ldR);
  const qtl = at(ktl, nk * NR);
  const gtl = at(qtl, nq * NR);
  const pband = at(gtl, nq * NR);
  const D = at(pband, roundUp(MR * nq, 4));
  const bandB = <usize>(MR * dh) << 2;
  const stripB = <usize>(NR * dh) << 2;
  // dPᵀ = V·dctxᵀ, tiles as the forward's scores
  for (let kr = 0; kr < nk; kr += MR) pack(vp + <usize>(kr / MR) * bandB, at(V, (c0 + kr) * d), dB, 4, min(MR, nk - kr), MR, dh);
  packQueries(gp, at(dctx, t0 * d), dB, sh, nq, dh);
  for (let kr = 0; kr < nk; kr += MR) {
    const a = vp + <usize>(kr / MR) * bandB;
    for (let j = causal ? (kr + sh) & ~(NR - 1) : 0; j < nq + sh; j += NR) {
      kernel5x8(a, MR << 2, gp + <usize>(j / NR) * stripB, NR << 2, dh, at(st, kr * ld + j), ldB, false);
    }
  }
  // D = rowsum(P ⊙ dP) = dctx·ctx per query (P·V = ctx), so no pass over P is needed for it
  zeros(D, roundUp(nq + sh, 4));
  for (let qr = 0; qr < nq; qr++) {
    const x = at(dctx, (t0 + qr) * d);
    const y = at(ctx, (t0 + qr) * d);
    let v = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= dh; j += 4) v = madd(v128.load(at(x, j)), v128.load(at(y, j)), v);
    let s = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
    for (; j < dh; j++) s += load<f32>(at(x, j)) * load<f32>(at(y, j));
    store<f32>(at(D, qr + sh), s);
  }
  for (let c = 0; c < nq + sh; c += 4) {
    const g = c - sh;
    if (g + 3 < 0) continue;
    const kend = causal ? min(nk, g + 4) : nk;
    dsColumns(st, ld, c, max(0, -g), min(4, nq - g), kend, causal ? min(nk, g + 8) : 0, at(P, (t0 + g) * T + c0), T, D, scale, r, ldR);
  }
  // the last partial strip of columns of K, Q and dctx, packed once (zero-padded)
  const tail = dh & ~(NR - 1);
  if (tail < dh) {
    pack(ktl, at(K, c0 * d + tail), 4, dB, dh - tail, NR, nk);
    pack(qtl, at(Q, t0 * d + tail), 4, dB, dh - tail, NR, nq);
    pack(gtl, at(dctx, t0 * d + tail), 4, dB, dh - tail, NR, nq);
  }
  // dQ = dS·K: a band of 5 queries reads its 5 columns of dSᵀ in place
  for (let qr = 0; qr < nq; qr += MR) {
    const kc = causal ? min(qr + MR, nk) : nk;
    for (let j = 0; j < dh; j += NR) {
      const full = j + NR <= dh;
      tileTo(at(st, qr + sh), ldB, full ? at(K, c0 * d + j) : ktl, full ? dB : NR << 2, kc, at(dQ, (t0 + qr) * d + j), dB, min(MR, nq - qr), min(NR, dh - j));
    }
  }
  // dK = dSᵀ·Q and dV = Pᵀ·dctx: a band of 5 keys reads 5 columns of dS and of P in place, from
  // its first key's query on when causal (the rows above are 0)
  for (let kr = 0; kr < nk; kr += MR) {
    const qs = causal ? kr : 0;
    const kc = nq - qs;
    const rows = min(MR, nk - kr);
    let pa = at(P, (t0 + qs) * T + c0 + kr), aStep = rowB;
    // a partial band would read past the end of P's last row
    if (rows < MR) {
      pack(pband, pa, 4, rowB, rows, MR, kc);
      pa = pband;
      aStep = MR << 2;
    }
    for (let j = 0; j < dh; j += NR) {
      const full = j + NR <= dh;
      const cols = min(NR, dh - j);
      const out = (c0 + kr) * d + j;
      const qb = full ? at(Q, (t0 + qs) * d + j) : at(qtl, qs * NR);
      tileTo(at(r, (qs + sh) * ldR + kr), rB, qb, full ? dB : NR << 2, kc, at(dK, out), dB, rows, cols);
      const gb = full ? at(dctx, (t0 + qs) * d + j) : at(gtl, qs * NR);
      tileTo(pa, aStep, gb, full ? dB : NR << 2, kc, at(dV, out), dB, rows, cols);
    }
  }
}
