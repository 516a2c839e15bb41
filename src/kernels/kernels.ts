// The kernel contract: every numerical primitive fedfacet runs, with its exact semantics.
//
// Two kinds of backend implement it: the WASM backend (assembly/*.ts, SIMD) and the reference
// backends (src/kernels/ref/*.ts, plain TypeScript, in f32 or f64 storage) that serve as the oracle
// in property tests and as the exact arithmetic for finite-difference gradient checks.
//
// Conventions, shared by every method:
// - Every pointer is an *element offset* (4-byte units) into the backend's memory. f32 and i32
//   tensors share one address space; an int8 buffer at offset q occupies bytes 4q .. 4q+n-1.
// - Matrices are row-major and contiguous.
// - Backward kernels ACCUMULATE (+=) into every gradient buffer they are given (inputs and
//   parameters alike), so a tensor used twice simply receives both contributions.
// - Parameter groups that one kernel needs are one contiguous slice, in the layout documented at
//   the method (this is how they sit in the flat partition buffers).
// - Sizes may be 0 (a no-op) and need not be multiples of the SIMD width.

/** A boolean passed across the ABI. */
export type Flag = 0 | 1;

/** Sentinel for an optional pointer that is absent. */
export const NONE = -1;

export interface Kernels {
  // ---- GEMM (assembly/gemm.ts) -------------------------------------------------------------
  /** C[M×N] = A[M×K]·B[K×N] (+ C when accumulate). */
  gemmAB(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void;
  /** C[M×N] = A[M×K]·B[N×K]ᵀ (+ C when accumulate). */
  gemmABt(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void;
  /** C[M×N] = A[K×M]ᵀ·B[K×N] (+ C when accumulate). Weight gradients: K = rows of the batch. */
  gemmAtB(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void;

  // ---- Fused causal self-attention (assembly/attention.ts) ---------------------------------
  /**
   * out[B×T×d] = Attn(xq, xkv): Q = xq·Wq + bq, K = xkv·Wk + bk, V = xkv·Wv + bv; per head h
   * (dh = d/heads, columns h·dh..), S = Q_h·K_hᵀ/√dh, masked where key s is padding
   * (mask[b,s] = 0) or, when causal, s > t; P = softmax(S) by rows, with a row whose keys are
   * all masked giving P = 0; ctx_h = P·V_h; out = ctx·Wo + bo.
   * w = [Wq d×d | Wk d×d | Wv d×d | Wo d×d | bq d | bk d | bv d | bo d] (attentionParamSize).
   * mask: f32 B×T, 1 = real item, 0 = padding.
   * save (attentionSaveSize floats) receives, per batch row b, [Q T×d | K T×d | V T×d |
   * ctx T×d | P heads×T×T] for the backward pass.
   */
  attentionForward(
    xq: number, xkv: number, w: number, mask: number, out: number, save: number,
    B: number, T: number, d: number, heads: number, causal: Flag,
  ): void;
  /** Accumulates dxq, dxkv (B×T×d) and dw (layout of w) from dout, given forward's save. */
  attentionBackward(
    dout: number, xq: number, xkv: number, w: number, mask: number, save: number,
    dxq: number, dxkv: number, dw: number,
    B: number, T: number, d: number, heads: number, causal: Flag,
  ): void;

  // ---- Fused feed-forward (assembly/ffn.ts) ------------------------------------------------
  /**
   * y[rows×d] = (relu(x·W1 + b1) ⊙ drop)·W2 + b2.
   * w = [W1 d×dff | b1 dff | W2 dff×d | b2 d] (ffnParamSize). drop: f32 rows×dff multiplier
   * (0 or 1/(1−p), inverted dropout) or NONE. save (ffnSaveSize = 2·rows·dff floats) receives
   * [pre-activation x·W1 + b1 | hidden relu(·) ⊙ drop].
   */
  ffnForward(x: number, w: number, y: number, save: number, rows: number, d: number, dff: number, drop: number): void;
  /** Accumulates dx (rows×d) and dw (layout of w) from dy, given forward's save and drop. */
  ffnBackward(
    dy: number, x: number, w: number, save: number, dx: number, dw: number,
    rows: number, d: number, dff: number, drop: number,
  ): void;

  // ---- LayerNorm (assembly/layernorm.ts) ---------------------------------------------------
  /**
   * y = (x − mean)/√(var + eps) ⊙ γ + β over each row of d (biased variance).
   * w = [γ d | β d]. save (2·rows floats) receives [mean rows | rstd rows].
   */
  layerNormForward(x: number, w: number, y: number, save: number, rows: number, d: number, eps: number): void;
  /** Accumulates dx and dw = [dγ | dβ]. */
  layerNormBackward(dy: number, x: number, w: number, save: number, dx: number, dw: number, rows: number, d: number): void;

  // ---- Field embeddings (assembly/embedding.ts) --------------------------------------------
  /**
   * out[n, f·dim + j] = table[idx[n·fields + f]·dim + j]: every field's rows live in one table,
   * so idx already includes each field's row offset. idx is i32 n×fields; every index must be in
   * range (the host validates; the kernel does not check).
   */
  embeddingGather(table: number, idx: number, out: number, n: number, fields: number, dim: number): void;
  /** dtable[idx[n·fields + f]·dim + j] += dout[n, f·dim + j] (repeated indices add up). */
  embeddingScatterAdd(dout: number, idx: number, dtable: number, n: number, fields: number, dim: number): void;

  // ---- Loss (assembly/loss.ts) -------------------------------------------------------------
  /**
   * Weighted mean binary cross-entropy with logits: Σ wᵢ·ℓᵢ / Σ wᵢ, where
   * ℓᵢ = max(xᵢ,0) − xᵢ·yᵢ + log(1 + e^−|xᵢ|) (stable for any logit). Returns 0 when Σ w = 0.
   * Entries with wᵢ = 0 are skipped (in the backward too), so padding logits never matter.
   */
  bceForward(logits: number, labels: number, weights: number, n: number): number;
  /** dlogits[i] += scale · wᵢ · (σ(xᵢ) − yᵢ) / Σ w (nothing when Σ w = 0). */
  bceBackward(logits: number, labels: number, weights: number, dlogits: number, n: number, scale: number): void;

  // ---- Optimiser (assembly/adam.ts) --------------------------------------------------------
  /**
   * One AdamW step over a flat buffer (Loshchilov & Hutter: decoupled weight decay).
   * m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; m̂ = m/(1−β1^step); v̂ = v/(1−β2^step);
   * p = p − lr·(m̂/(√v̂ + eps) + weightDecay·p). step counts from 1.
   */
  adamStep(
    p: number, g: number, m: number, v: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;

  // ---- Flat-buffer vector ops for the coordinator (assembly/vector.ts) ---------------------
  /** y += a·x. */
  axpy(y: number, x: number, n: number, a: number): void;
  /** x *= a. */
  scale(x: number, n: number, a: number): void;
  /** out = Σₖ weights[k]·x_k over `count` buffers whose offsets are the i32 list at `list`. */
  weightedSum(out: number, list: number, weights: number, count: number, n: number): void;
  /** ‖x‖₂ (accumulated in f64 lanes so it does not lose precision over millions of elements). */
  l2Norm(x: number, n: number): number;
  /** Scales x so that ‖x‖₂ ≤ maxNorm; returns the norm before clipping. */
  clipByNorm(x: number, n: number, maxNorm: number): number;
  /** Index of the first NaN or ±Inf in x, or −1 when every value is finite. */
  nonFiniteIndex(x: number, n: number): number;

  // ---- Elementwise helpers the layers need (assembly/elementwise.ts) -----------------------
  /** out = a + b (out may alias a or b). */
  add(a: number, b: number, out: number, n: number): void;
  /** out = a ⊙ b (out may alias a or b). */
  mul(a: number, b: number, out: number, n: number): void;
  /** x[r, :] *= mask[r] (zeroes padding rows). */
  mulRowMask(x: number, mask: number, rows: number, cols: number): void;
  /** y[r, :] += b. */
  addRowVector(y: number, b: number, rows: number, cols: number): void;
  /** out[c] += Σ_r x[r, c] (bias gradients). */
  colSumAcc(x: number, out: number, rows: number, cols: number): void;
  /** y = max(x, 0). */
  reluForward(x: number, y: number, n: number): void;
  /** dx += dy where x > 0. */
  reluBackward(dy: number, x: number, dx: number, n: number): void;

  // ---- Dropout masks (assembly/dropout.ts) -------------------------------------------------
  /**
   * Inverted-dropout mask: out[j] = 0 when u_j < p, else 1/(1 − p) (rounded to the backend's
   * floats), where u_j = draw_j / 2³² and draw_j is the j-th output of the xoshiro128** generator
   * of src/util/rng.ts run from the 4 i32 state words at `state` (Rng.getState's words); the
   * words are advanced past the n draws (Rng.setState continues from them). 0 ≤ p < 1.
   */
  dropoutMask(state: number, out: number, n: number, p: number): void;

  // ---- Update compression (assembly/compress.ts) -------------------------------------------
  /** out = next − prev. */
  delta(next: number, prev: number, out: number, n: number): void;
  /**
   * Top-k with error feedback: u = x + residual; keeps the k = min(k, n) entries of largest |u|
   * (ties go to the lower index), writes their indices ascending to outIdx (i32) and their values
   * u[i] to outVal, and leaves residual = u with the kept entries set to 0. Returns the count kept.
   * x and residual must be finite (check with nonFiniteIndex first); a NaN ranks above every
   * number, and the count is still min(k, n).
   */
  topkSelect(x: number, residual: number, n: number, k: number, outIdx: number, outVal: number): number;
  /**
   * Blockwise int8: for each block of `block` values (the last may be shorter),
   * scale = max|x| / 127 (0 for an all-zero block), q = round-half-away(x / scale) in [−127, 127].
   * q is an int8 buffer (n bytes at byte 4·q), scales f32 ⌈n/block⌉.
   * Error bound after dequantisation: |x − x̂| ≤ scale/2 per value.
   * block ≥ 1; x finite with |x| ≤ 1e38 (near the largest float, 127·scale rounds to ±Inf). A
   * block with max|x| < 127·2⁻¹²⁶ has a subnormal scale: q is clamped to ±127 and the bound
   * does not hold (the error stays ≤ max|x|); a scale that underflows to 0 sends q = 0.
   */
  quantizeInt8(x: number, n: number, block: number, q: number, scales: number): void;
  /** out[i] = q[i] · scales[⌊i/block⌋]. */
  dequantizeInt8(q: number, scales: number, n: number, block: number, out: number): void;
}

/** Floats in the attention parameter slice for model width d. */
export function attentionParamSize(d: number): number {
  return 4 * d * d + 4 * d;
}
/** Floats attentionForward saves for the backward pass. */
export function attentionSaveSize(B: number, T: number, d: number, heads: number): number {
  return B * (4 * T * d + heads * T * T);
}
/** Floats in the feed-forward parameter slice. */
export function ffnParamSize(d: number, dff: number): number {
  return 2 * d * dff + dff + d;
}
/** Floats ffnForward saves for the backward pass. */
export function ffnSaveSize(rows: number, dff: number): number {
  return 2 * rows * dff;
}
/** Floats of per-block scales for blockwise int8. */
export function int8ScaleCount(n: number, block: number): number {
  return Math.ceil(n / block);
}
/** Elements (4-byte units) that an int8 buffer of n values occupies. */
export function int8Elements(n: number): number {
  return Math.ceil(n / 4);
}

/** A dropout probability outside [0, 1) would scale kept values by ∞ or a negative number. */
export function checkDropoutP(p: number): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`fedfacet: dropout probability must be in [0, 1), got ${p}`);
}

/** The int8 kernels loop per block: a block below 1 would never advance, so backends refuse it. */
export function checkInt8Block(block: number): void {
  if (!(Number.isInteger(block) && block >= 1)) throw new RangeError(`fedfacet: int8 block size must be an integer >= 1, got ${block}`);
}
