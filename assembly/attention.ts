// Fused causal self-attention, forward and backward in one call each (contract: attentionForward /
// attentionBackward in src/kernels/kernels.ts). Byte pointers; f32 data.
//
// Forward, batch row by batch row: Q, K, V are projected straight into the row's save slot, the
// per-head T×T part (attention-core.ts) writes P and ctx into the slot, and ctx is projected out.
// Backward, in chunks of CHUNK_ROWS rows of B·T: the weight and input gradients of the
// projections run over the whole chunk through the strided GEMM helpers, the T×T part per batch
// row and head. Per batch row, the T×T products only cover the keys from the first real one (the
// model's sequences are left-padded) and, when causal, the lower triangle tile by tile.
import { scratchPtr } from "./common";
import { sgemm_nn, sgemm_nt, sgemm_tn } from "./sgemm";
import { headBackward, headBackwardScratch, headForward, headForwardScratch } from "./attention-core";

// Rows of B·T per chunk of the backward pass: a chunk's activations, save slots and scratch stay in
// L2, while the projections' gradients still get hundreds of rows per GEMM call. Measured at
// B = 32: 64 to 640 alike (one chunk of all rows was 1–8% slower).
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

/** Every row of y[rows×d] = bias (a vector loop: a memory.copy per row costs a call each in V8). */
function fillRows(y: usize, bias: usize, rows: i32, d: i32): void {
  for (let r = 0; r < rows; r++) {
    const o = at(y, r * d);
    let j = 0;
    for (; j + 4 <= d; j += 4) v128.store(at(o, j), v128.load(at(bias, j)));
    for (; j < d; j++) store<f32>(at(o, j), load<f32>(at(bias, j)));
  }
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

/**
 * One batch row, all heads: P and ctx rows (row stride d at ctx) from the
 * Q, K, V already in the slot (ctx: the slot's ctx rows). scr: headForwardScratch floats.
 */
function attendForward(base: usize, mrow: usize, ctx: usize, T: i32, d: i32, heads: i32, scale: f32, causal: bool, scr: usize): void {
  const dh = d / heads;
  const c0 = firstRealKey(mrow, T);
  const t0 = firstQuery(c0, T, causal);
  memory.fill(ctx, 0, <usize>(t0 * d) << 2);
  for (let h = 0; h < heads; h++) {
    const P = at(base, 4 * T * d + h * T * T);
    const col = h * dh;
    memory.fill(P, 0, <usize>(t0 * T) << 2);
    if (c0 < T) headForward(at(base, col), at(base, T * d + col), at(base, 2 * T * d + col), mrow, P, at(ctx, col), T, d, dh, c0, t0, scale, causal, scr);
  }
}

/**
 * One batch row, all heads: dQ, dK, dV rows (contiguous T×d each) from dctx rows and the save slot
 * at `base`. scr: headBackwardScratch floats.
 */
function attendBackward(
  base: usize, mrow: usize, dctx: usize, dQ: usize, dK: usize, dV: usize, scr: usize,
  T: i32, d: i32, heads: i32, scale: f32, causal: bool,
): void {
  const dh = d / heads;
  const c0 = firstRealKey(mrow, T);
  const t0 = firstQuery(c0, T, causal);
  // rows that no (query, real key) pair reaches get no gradient
  memory.fill(dQ, 0, <usize>(t0 * d) << 2);
  memory.fill(dK, 0, <usize>(c0 * d) << 2);
  memory.fill(dV, 0, <usize>(c0 * d) << 2);
  if (c0 == T) return;
  for (let h = 0; h < heads; h++) {
    const col = h * dh;
    headBackward(
      at(base, col), at(base, T * d + col), at(base, 2 * T * d + col), at(base, 3 * T * d + col), at(base, 4 * T * d + h * T * T),
      at(dctx, col), at(dQ, col), at(dK, col), at(dV, col), T, d, dh, c0, t0, scale, causal, scr,
    );
  }
}

/** Batch rows per chunk: CHUNK_ROWS rows of B·T (at least one batch row; T may be 0). */
// @ts-ignore: decorator
@inline function chunkOf(B: i32, T: i32): i32 {
  return min(B, max(1, CHUNK_ROWS / max(T, 1)));
}

export function attention_forward_scratch(B: i32, T: i32, d: i32, heads: i32, causal: i32): usize {
  return <usize>headForwardScratch(T, d / heads) << 2;
}

export function attention_forward(
  xq: usize, xkv: usize, w: usize, mask: usize, out: usize, save: usize,
  B: i32, T: i32, d: i32, heads: i32, causal: i32,
): void {
  if (B * T == 0 || d == 0) return;
  const stride = saveStride(T, d, heads);
  const scale: f32 = 1 / Mathf.sqrt(<f32>(d / heads));
  const dd = d * d;
  const td = T * d;
  const bq = at(w, 4 * dd);
  // batch row by batch row, so that its save slot stays in cache from the projections to the
  // output projection; Q, K, V and ctx go straight into the slot (bias rows, then the product added)
  for (let b = 0; b < B; b++) {
    const base = at(save, b * stride);
    const x = at(xq, b * td);
    const xk = at(xkv, b * td);
    fillRows(base, bq, T, d);
    sgemm_nn(T, d, d, x, d, w, d, base, d, true);
    fillRows(at(base, td), at(bq, d), T, d);
    sgemm_nn(T, d, d, xk, d, at(w, dd), d, at(base, td), d, true);
    fillRows(at(base, 2 * td), at(bq, 2 * d), T, d);
    sgemm_nn(T, d, d, xk, d, at(w, 2 * dd), d, at(base, 2 * td), d, true);
    const ctx = at(base, 3 * td);
    attendForward(base, at(mask, b * T), ctx, T, d, heads, scale, causal != 0, scratchPtr);
    const o = at(out, b * td);
    fillRows(o, at(bq, 3 * d), T, d);
    sgemm_nn(T, d, d, ctx, d, at(w, 3 * dd), d, o, d, true);
  }
}

export function attention_backward_scratch(B: i32, T: i32, d: i32, heads: i32, causal: i32): usize {
  return <usize>(4 * chunkOf(B, T) * T * d + 4 + headBackwardScratch(T, d / heads)) << 2;
}

export function attention_backward(
  dout: usize, xq: usize, xkv: usize, w: usize, mask: usize, save: usize,
  dxq: usize, dxkv: usize, dw: usize,
  B: i32, T: i32, d: i32, heads: i32, causal: i32,
): void {
  if (B * T == 0 || d == 0) return;
  const stride = saveStride(T, d, heads);
  const scale: f32 = 1 / Mathf.sqrt(<f32>(d / heads));
  const chunk = chunkOf(B, T);
  for (let b = 0; b < B; b += chunk) {
    const r = b * T * d;
    backwardChunk(
      at(dout, r), at(xq, r), at(xkv, r), w, at(mask, b * T), at(save, b * stride), at(dxq, r), at(dxkv, r), dw,
      min(chunk, B - b), T, d, heads, scale, causal != 0,
    );
  }
}

/** The backward pass over nb batch rows (pointers already offset to the chunk; dw accumulates). */
function backwardChunk(
  dout: usize, xq: usize, xkv: usize, w: usize, mask: usize, save: usize, dxq: usize, dxkv: usize, dw: usize,
  nb: i32, T: i32, d: i32, heads: i32, scale: f32, causal: bool,
): void {
  const rows = nb * T;
  const dd = d * d;
  const n = rows * d;
  const stride = saveStride(T, d, heads);
  // scratch: [ctx, then dctx | dQ | dK | dV] rows×d each, then the per-head scratch
  const g0 = scratchPtr;
  const gq = at(g0, n);
  const gk = at(g0, 2 * n);
  const gv = at(g0, 3 * n);
  const hs = at(g0, (4 * n + 3) & ~3);
  const dbq = at(dw, 4 * dd);
  // output projection: dWo += ctxᵀ·dout, dbo += Σ dout, dctx = dout·Woᵀ
  for (let b = 0; b < nb; b++) memory.copy(at(g0, b * T * d), at(save, b * stride + 3 * T * d), <usize>(T * d) << 2);
  sgemm_tn(d, d, rows, g0, d, dout, d, at(dw, 3 * dd), d, true);
  colSumAcc(dout, at(dbq, 3 * d), rows, d);
  sgemm_nt(rows, d, d, dout, d, at(w, 3 * dd), d, g0, d, false);
  for (let b = 0; b < nb; b++) {
    const r = b * T * d;
    attendBackward(at(save, b * stride), at(mask, b * T), at(g0, r), at(gq, r), at(gk, r), at(gv, r), hs, T, d, heads, scale, causal);
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
