// Fused causal self-attention, forward and backward in one call each (contract: attentionForward /
// attentionBackward in src/kernels/kernels.ts). Byte pointers; f32 data.
//
// The four d×d projections (and their gradients) run over many rows at once through the strided
// GEMM helpers (chunks of CHUNK_ROWS rows of B·T), into contiguous scratch rows; the save slots,
// which are interleaved per batch row, receive copies. Per batch row and head, the T×T products
// only cover the keys from the first real one (the model's sequences are left-padded) and, when
// causal, the lower triangle in blocks of ROW_BLOCK query rows, so the masked half is (mostly)
// never multiplied.
import { scratchPtr } from "./common";
import { sgemm_nn, sgemm_nt, sgemm_tn } from "./sgemm";
import { madd } from "./simd";
import { exp4 } from "./vmath";

// Query rows per causal block: each block computes keys up to its last row, so the work above the
// diagonal is ROW_BLOCK/2 keys per row; small blocks waste less, large ones give the GEMM longer
// runs. 10 to 40 measured alike at T = 65 and 128; 20 is a whole number of the GEMM's row tiles.
const ROW_BLOCK: i32 = 20;
// Rows of B·T per chunk: the whole pass runs chunk by chunk so that a chunk's activations, save
// slots and scratch stay in L2, while the projections still get hundreds of rows per GEMM call.
// Measured at B = 32: 128 to 512 alike, 1–8% faster than one chunk of all rows.
const CHUNK_ROWS: i32 = 256;

// @ts-ignore: decorator
@inline function at(p: usize, floats: i32): usize {
  return p + (<usize>floats << 2);
}

/** Floats of one batch row's save slot: [Q T×d | K T×d | V T×d | ctx T×d | P heads×T×T]. */
// @ts-ignore: decorator
@inline function saveStride(T: i32, d: i32, heads: i32): i32 {
  return 4 * T * d + heads * T * T;
}

/** Index of the first key with mask ≠ 0 (T when the whole row is padding). */
function firstRealKey(mrow: usize, T: i32): i32 {
  let s = 0;
  while (s < T && load<f32>(at(mrow, s)) == 0) s++;
  return s;
}

/**
 * First query row that sees a real key, given the first real key c0 (T when there is none): the
 * rows before it have all keys masked, so their P and ctx rows are 0.
 */
// @ts-ignore: decorator
@inline function firstQuery(c0: i32, T: i32, causal: bool): i32 {
  return causal || c0 == T ? c0 : 0;
}

/** Copies the contiguous rows src[B·T×d] + bias into the slot at `slot` of every batch row's save. */
function scatterBias(src: usize, save: usize, slot: i32, bias: usize, B: i32, T: i32, d: i32, stride: i32): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const s = at(src, (b * T + t) * d);
      const o = at(save, b * stride + slot + t * d);
      let j = 0;
      for (; j + 4 <= d; j += 4) v128.store(at(o, j), f32x4.add(v128.load(at(s, j)), v128.load(at(bias, j))));
      for (; j < d; j++) store<f32>(at(o, j), load<f32>(at(s, j)) + load<f32>(at(bias, j)));
    }
  }
}

/** Every row of y[rows×d] = bias. */
function fillRows(y: usize, bias: usize, rows: i32, d: i32): void {
  for (let r = 0; r < rows; r++) memory.copy(at(y, r * d), bias, <usize>d << 2);
}

/** acc[c] += Σ_r x[r, c] (bias gradients). */
function colSumAcc(x: usize, acc: usize, rows: i32, d: i32): void {
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let r = 0;
    // two chains so that the adds are not latency bound
    for (; r + 2 <= rows; r += 2) {
      s0 = f32x4.add(s0, v128.load(at(x, r * d + j)));
      s1 = f32x4.add(s1, v128.load(at(x, (r + 1) * d + j)));
    }
    if (r < rows) s0 = f32x4.add(s0, v128.load(at(x, r * d + j)));
    v128.store(at(acc, j), f32x4.add(v128.load(at(acc, j)), f32x4.add(s0, s1)));
  }
  for (; j < d; j++) {
    let s: f32 = 0;
    for (let r = 0; r < rows; r++) s += load<f32>(at(x, r * d + j));
    store<f32>(at(acc, j), load<f32>(at(acc, j)) + s);
  }
}

// Four lanes for the last 1–3 scores of a row (and their mask), so that they go through one exp4.
const TAIL = memory.data(32, 16);

/**
 * In place over one row of n scores: p = softmax(scale·s) over the keys whose mask is non-zero,
 * 0 for the others; a row without any real key becomes all 0.
 */
function softmaxRow(p: usize, mrow: usize, n: i32, scale: f32): void {
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  const n4 = n & ~3;
  let vmax = ninf;
  for (let j = 0; j < n4; j += 4) {
    const real = f32x4.ne(v128.load(at(mrow, j)), zero);
    vmax = f32x4.pmax(vmax, v128.bitselect(v128.load(at(p, j)), ninf, real));
  }
  let mx = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (let j = n4; j < n; j++) if (load<f32>(at(mrow, j)) != 0) mx = max(mx, load<f32>(at(p, j)));
  if (mx == -Infinity) {
    memory.fill(p, 0, <usize>n << 2);
    return;
  }
  const vs = f32x4.splat(scale);
  const shift = f32x4.splat(-mx * scale);
  let vsum = zero;
  for (let j = 0; j < n4; j += 4) {
    const real = f32x4.ne(v128.load(at(mrow, j)), zero);
    const e = v128.and(exp4(madd(v128.load(at(p, j)), vs, shift)), real);
    v128.store(at(p, j), e);
    vsum = f32x4.add(vsum, e);
  }
  if (n4 < n) {
    v128.store(TAIL, zero);
    v128.store(TAIL, zero, 16);
    for (let j = n4; j < n; j++) {
      store<f32>(at(TAIL, j - n4), load<f32>(at(p, j)));
      store<f32>(at(TAIL, j - n4 + 4), load<f32>(at(mrow, j)));
    }
    const e = v128.and(exp4(madd(v128.load(TAIL), vs, shift)), f32x4.ne(v128.load(TAIL, 16), zero));
    v128.store(TAIL, e);
    for (let j = n4; j < n; j++) store<f32>(at(p, j), load<f32>(at(TAIL, j - n4)));
    vsum = f32x4.add(vsum, e);
  }
  const inv: f32 = 1 / (f32x4.extract_lane(vsum, 0) + f32x4.extract_lane(vsum, 1) + f32x4.extract_lane(vsum, 2) + f32x4.extract_lane(vsum, 3));
  const vinv = f32x4.splat(inv);
  for (let j = 0; j < n4; j += 4) v128.store(at(p, j), f32x4.mul(v128.load(at(p, j)), vinv));
  for (let j = n4; j < n; j++) store<f32>(at(p, j), load<f32>(at(p, j)) * inv);
}

/** In place over one row of n entries: g = scale·p ⊙ (g − Σ p ⊙ g) (softmax backward; g = dP → dS). */
function softmaxBackwardRow(p: usize, g: usize, n: i32, scale: f32): void {
  let vdot = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) vdot = madd(v128.load(at(p, j)), v128.load(at(g, j)), vdot);
  let dot = f32x4.extract_lane(vdot, 0) + f32x4.extract_lane(vdot, 1) + f32x4.extract_lane(vdot, 2) + f32x4.extract_lane(vdot, 3);
  for (let k = j; k < n; k++) dot += load<f32>(at(p, k)) * load<f32>(at(g, k));
  const vd = f32x4.splat(dot);
  const vs = f32x4.splat(scale);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const sp = f32x4.mul(v128.load(at(p, j)), vs);
    v128.store(at(g, j), f32x4.mul(sp, f32x4.sub(v128.load(at(g, j)), vd)));
  }
  for (; j < n; j++) store<f32>(at(g, j), load<f32>(at(p, j)) * scale * (load<f32>(at(g, j)) - dot));
}

/**
 * One batch row, all heads: P (in `base`'s save slot) and ctx rows (contiguous T×d at ctx) from the
 * Q, K, V already in the slot. step: query rows per block (ROW_BLOCK when causal, else T).
 */
function attendForward(base: usize, mrow: usize, ctx: usize, T: i32, d: i32, heads: i32, scale: f32, step: i32, causal: bool): void {
  const dh = d / heads;
  const Q = base;
  const K = at(base, T * d);
  const V = at(base, 2 * T * d);
  const c0 = firstRealKey(mrow, T);
  const t0 = firstQuery(c0, T, causal);
  memory.fill(ctx, 0, <usize>(t0 * d) << 2);
  for (let h = 0; h < heads; h++) {
    const P = at(base, 4 * T * d + h * T * T);
    const col = h * dh;
    memory.fill(P, 0, <usize>(t0 * T) << 2);
    for (let tb = t0; tb < T; tb += step) {
      const te = min(tb + step, T);
      const ce = causal ? te : T;
      sgemm_nt(te - tb, ce - c0, dh, at(Q, tb * d + col), d, at(K, c0 * d + col), d, at(P, tb * T + c0), T, false);
      for (let t = tb; t < te; t++) {
        const row = at(P, t * T);
        const end = causal ? t + 1 : T;
        if (c0 > 0) memory.fill(row, 0, <usize>c0 << 2);
        softmaxRow(at(row, c0), at(mrow, c0), end - c0, scale);
        if (end < T) memory.fill(at(row, end), 0, <usize>(T - end) << 2);
      }
      sgemm_nn(te - tb, dh, ce - c0, at(P, tb * T + c0), T, at(V, c0 * d + col), d, at(ctx, tb * d + col), d, false);
    }
  }
}

/**
 * One batch row, all heads: dQ, dK, dV rows (contiguous T×d each) from dctx rows and the save slot
 * at `base`. dS is a T×T scratch matrix; only the region the forward pass computed is touched.
 */
function attendBackward(
  base: usize, mrow: usize, dctx: usize, dQ: usize, dK: usize, dV: usize, dS: usize,
  T: i32, d: i32, heads: i32, scale: f32, step: i32, causal: bool,
): void {
  const dh = d / heads;
  const Q = base;
  const K = at(base, T * d);
  const V = at(base, 2 * T * d);
  const c0 = firstRealKey(mrow, T);
  const t0 = firstQuery(c0, T, causal);
  // rows that no (query, real key) pair reaches get no gradient
  memory.fill(dQ, 0, <usize>(t0 * d) << 2);
  memory.fill(dK, 0, <usize>(c0 * d) << 2);
  memory.fill(dV, 0, <usize>(c0 * d) << 2);
  for (let h = 0; h < heads; h++) {
    const P = at(base, 4 * T * d + h * T * T);
    const col = h * dh;
    for (let tb = t0; tb < T; tb += step) {
      const te = min(tb + step, T);
      const ce = causal ? te : T;
      sgemm_nt(te - tb, ce - c0, dh, at(dctx, tb * d + col), d, at(V, c0 * d + col), d, at(dS, tb * T + c0), T, false);
      // P is 0 above the diagonal, so the whole block row becomes a valid dS (0 there)
      for (let t = tb; t < te; t++) softmaxBackwardRow(at(P, t * T + c0), at(dS, t * T + c0), ce - c0, scale);
      sgemm_nn(te - tb, dh, ce - c0, at(dS, tb * T + c0), T, at(K, c0 * d + col), d, at(dQ, tb * d + col), d, false);
    }
    // key blocks on the same boundaries as the query blocks, so every dS entry read was written
    for (let sb = c0; sb < T; sb += step) {
      const se = min(sb + step, T);
      const tf = causal ? sb : t0;
      sgemm_tn(se - sb, dh, T - tf, at(P, tf * T + sb), T, at(dctx, tf * d + col), d, at(dV, sb * d + col), d, false);
      sgemm_tn(se - sb, dh, T - tf, at(dS, tf * T + sb), T, at(Q, tf * d + col), d, at(dK, sb * d + col), d, false);
    }
  }
}

/** Batch rows per chunk: CHUNK_ROWS rows of B·T (at least one batch row; T may be 0). */
// @ts-ignore: decorator
@inline function chunkOf(B: i32, T: i32): i32 {
  return min(B, max(1, CHUNK_ROWS / max(T, 1)));
}

export function attention_forward_scratch(B: i32, T: i32, d: i32, heads: i32, causal: i32): usize {
  return <usize>(chunkOf(B, T) * T * d) << 2;
}

export function attention_forward(
  xq: usize, xkv: usize, w: usize, mask: usize, out: usize, save: usize,
  B: i32, T: i32, d: i32, heads: i32, causal: i32,
): void {
  if (B * T == 0 || d == 0) return;
  const stride = saveStride(T, d, heads);
  const scale: f32 = 1 / Mathf.sqrt(<f32>(d / heads));
  const step = causal != 0 ? ROW_BLOCK : T;
  const chunk = chunkOf(B, T);
  for (let b = 0; b < B; b += chunk) {
    const r = b * T * d;
    forwardChunk(at(xq, r), at(xkv, r), w, at(mask, b * T), at(out, r), at(save, b * stride), min(chunk, B - b), T, d, heads, scale, step, causal != 0);
  }
}

/** The forward pass over nb batch rows (pointers already offset to the chunk). */
function forwardChunk(
  xq: usize, xkv: usize, w: usize, mask: usize, out: usize, save: usize,
  nb: i32, T: i32, d: i32, heads: i32, scale: f32, step: i32, causal: bool,
): void {
  const rows = nb * T;
  const dd = d * d;
  const bq = at(w, 4 * dd);
  const stride = saveStride(T, d, heads);
  const tmp = scratchPtr;
  sgemm_nn(rows, d, d, xq, d, w, d, tmp, d, false);
  scatterBias(tmp, save, 0, bq, nb, T, d, stride);
  sgemm_nn(rows, d, d, xkv, d, at(w, dd), d, tmp, d, false);
  scatterBias(tmp, save, T * d, at(bq, d), nb, T, d, stride);
  sgemm_nn(rows, d, d, xkv, d, at(w, 2 * dd), d, tmp, d, false);
  scatterBias(tmp, save, 2 * T * d, at(bq, 2 * d), nb, T, d, stride);
  for (let b = 0; b < nb; b++) {
    const base = at(save, b * stride);
    const ctx = at(tmp, b * T * d);
    attendForward(base, at(mask, b * T), ctx, T, d, heads, scale, step, causal);
    memory.copy(at(base, 3 * T * d), ctx, <usize>(T * d) << 2);
  }
  fillRows(out, at(bq, 3 * d), rows, d);
  sgemm_nn(rows, d, d, tmp, d, at(w, 3 * dd), d, out, d, true);
}

export function attention_backward_scratch(B: i32, T: i32, d: i32, heads: i32, causal: i32): usize {
  return <usize>(4 * chunkOf(B, T) * T * d + T * T) << 2;
}

export function attention_backward(
  dout: usize, xq: usize, xkv: usize, w: usize, mask: usize, save: usize,
  dxq: usize, dxkv: usize, dw: usize,
  B: i32, T: i32, d: i32, heads: i32, causal: i32,
): void {
  if (B * T == 0 || d == 0) return;
  const stride = saveStride(T, d, heads);
  const scale: f32 = 1 / Mathf.sqrt(<f32>(d / heads));
  const step = causal != 0 ? ROW_BLOCK : T;
  const chunk = chunkOf(B, T);
  for (let b = 0; b < B; b += chunk) {
    const r = b * T * d;
    backwardChunk(
      at(dout, r), at(xq, r), at(xkv, r), w, at(mask, b * T), at(save, b * stride), at(dxq, r), at(dxkv, r), dw,
      min(chunk, B - b), T, d, heads, scale, step, causal != 0,
    );
  }
}

/** The backward pass over nb batch rows (pointers already offset to the chunk; dw accumulates). */
function backwardChunk(
  dout: usize, xq: usize, xkv: usize, w: usize, mask: usize, save: usize, dxq: usize, dxkv: usize, dw: usize,
  nb: i32, T: i32, d: i32, heads: i32, scale: f32, step: i32, causal: bool,
): void {
  const rows = nb * T;
  const dd = d * d;
  const n = rows * d;
  const stride = saveStride(T, d, heads);
  // scratch: [ctx, then dctx | dQ | dK | dV] rows×d each, then one T×T dS
  const g0 = scratchPtr;
  const gq = at(g0, n);
  const gk = at(g0, 2 * n);
  const gv = at(g0, 3 * n);
  const dS = at(g0, 4 * n);
  const dbq = at(dw, 4 * dd);
  // output projection: dWo += ctxᵀ·dout, dbo += Σ dout, dctx = dout·Woᵀ
  for (let b = 0; b < nb; b++) memory.copy(at(g0, b * T * d), at(save, b * stride + 3 * T * d), <usize>(T * d) << 2);
  sgemm_tn(d, d, rows, g0, d, dout, d, at(dw, 3 * dd), d, true);
  colSumAcc(dout, at(dbq, 3 * d), rows, d);
  sgemm_nt(rows, d, d, dout, d, at(w, 3 * dd), d, g0, d, false);
  for (let b = 0; b < nb; b++) {
    const r = b * T * d;
    attendBackward(at(save, b * stride), at(mask, b * T), at(g0, r), at(gq, r), at(gk, r), at(gv, r), dS, T, d, heads, scale, step, causal);
  }
  // input projections: weight and bias gradients, then input gradients
  sgemm_tn(d, d, rows, xq, d, gq, d, dw, d, true);
  sgemm_tn(d, d, rows, xkv, d, gk, d, at(dw, dd), d, true);
  sgemm_tn(d, d, rows, xkv, d, gv, d, at(dw, 2 * dd), d, true);
  colSumAcc(gq, dbq, rows, d);
  colSumAcc(gk, at(dbq, d), rows, d);
  colSumAcc(gv, at(dbq, 2 * d), rows, d);
  sgemm_nt(rows, d, d, gq, d, w, d, dxq, d, true);
  sgemm_nt(rows, d, d, gk, d, at(w, dd), d, dxkv, d, true);
  sgemm_nt(rows, d, d, gv, d, at(w, 2 * dd), d, dxkv, d, true);
}
