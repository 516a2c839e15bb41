// Fused feed-forward (see src/kernels/kernels.ts): y = (relu(x·W1 + b1) ⊙ drop)·W2 + b2 and its
// backward, each one call. The GEMMs go through the strided helpers of sgemm.ts; what sits
// between them is fused into single passes: biases are written into the outputs before the GEMMs
// accumulate onto them, ReLU and dropout are one sweep, and the bias gradients are column sums
// taken in the sweeps that already read those rows.
import { sgemm_nn, sgemm_nt, sgemm_tn } from "./sgemm";
import { scratchPtr } from "./common";

// An absent optional pointer (NONE = −1 on the host) arrives with every bit set.
const ABSENT: usize = <usize>-1;

/** Offsets of W1, b1, W2, b2 inside the parameter slice (ffnParamSize layout), as byte pointers. */
// @ts-ignore: decorator
@inline function b1Of(w: usize, d: i32, dff: i32): usize {
  return w + ((<usize>d * <usize>dff) << 2);
}
// @ts-ignore: decorator
@inline function w2Of(w: usize, d: i32, dff: i32): usize {
  return b1Of(w, d, dff) + (<usize>dff << 2);
}
// @ts-ignore: decorator
@inline function b2Of(w: usize, d: i32, dff: i32): usize {
  return w2Of(w, d, dff) + ((<usize>dff * <usize>d) << 2);
}

/** Every row of dst[rows×cols] = v[cols] (SIMD stores: memory.copy costs a runtime call per row). */
function broadcastRows(dst: usize, v: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = dst + ((<usize>r * <usize>cols) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(row + (<usize>j << 2), v128.load(v + (<usize>j << 2)));
    for (; j < cols; j++) store<f32>(row + (<usize>j << 2), load<f32>(v + (<usize>j << 2)));
  }
}

/** acc[cols] += row[cols]. */
// @ts-ignore: decorator
@inline function addRow(acc: usize, row: usize, cols: i32): void {
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const o = <usize>j << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), v128.load(row + o)));
  }
  for (; j < cols; j++) {
    const o = <usize>j << 2;
    store<f32>(acc + o, load<f32>(acc + o) + load<f32>(row + o));
  }
}

/** hidden = max(pre, 0) ⊙ drop (drop may be ABSENT), over n contiguous values. */
function reluDrop(pre: usize, hidden: usize, drop: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let j = 0;
  if (drop == ABSENT) {
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      v128.store(hidden + o, f32x4.max(v128.load(pre + o), zero));
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(hidden + o, max(load<f32>(pre + o), <f32>0));
    }
    return;
  }
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(hidden + o, f32x4.mul(f32x4.max(v128.load(pre + o), zero), v128.load(drop + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(hidden + o, max(load<f32>(pre + o), <f32>0) * load<f32>(drop + o));
  }
}

export function ffn_forward(x: usize, w: usize, y: usize, save: usize, drop: usize, rows: i32, d: i32, dff: i32): void {
  const pre = save;
  const hidden = save + ((<usize>rows * <usize>dff) << 2);
  broadcastRows(pre, b1Of(w, d, dff), rows, dff);
  sgemm_nn(rows, dff, d, x, d, w, dff, pre, dff, true);
  reluDrop(pre, hidden, drop, rows * dff);
  broadcastRows(y, b2Of(w, d, dff), rows, d);
  sgemm_nn(rows, d, dff, hidden, dff, w2Of(w, d, dff), d, y, d, true);
}

/** Scratch of ffn_backward: dpre, rows×dff. */
export function ffn_backward_scratch(rows: i32, d: i32, dff: i32): usize {
  return (<usize>rows * <usize>dff) << 2;
}

/**
 * In place over g = dy·W2ᵀ (rows×dff): g = g ⊙ drop where pre > 0, else 0 (the ReLU gradient, with
 * the same comparison the forward's max makes); db1 += Σ_rows g and db2 += Σ_rows dy on the way.
 */
function reluDropBackward(g: usize, pre: usize, drop: usize, dy: usize, db1: usize, db2: usize, rows: i32, d: i32, dff: i32): void {
  const zero = f32x4.splat(0);
  const hasDrop = drop != ABSENT;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r * <usize>dff) << 2;
    const gr = g + row;
    const pr = pre + row;
    let j = 0;
    for (; j + 4 <= dff; j += 4) {
      const o = <usize>j << 2;
      let v = v128.and(v128.load(gr + o), f32x4.gt(v128.load(pr + o), zero));
      if (hasDrop) v = f32x4.mul(v, v128.load(drop + row + o));
      v128.store(gr + o, v);
      v128.store(db1 + o, f32x4.add(v128.load(db1 + o), v));
    }
    for (; j < dff; j++) {
      const o = <usize>j << 2;
      let v: f32 = load<f32>(pr + o) > 0 ? load<f32>(gr + o) : 0;
      if (hasDrop) v *= load<f32>(drop + row + o);
      store<f32>(gr + o, v);
      store<f32>(db1 + o, load<f32>(db1 + o) + v);
    }
    addRow(db2, dy + ((<usize>r * <usize>d) << 2), d);
  }
}

export function ffn_backward(dy: usize, x: usize, w: usize, save: usize, dx: usize, dw: usize, drop: usize, rows: i32, d: i32, dff: i32): void {
  const pre = save;
  const hidden = save + ((<usize>rows * <usize>dff) << 2);
  const g = scratchPtr;
  const w1 = w;
  const w2 = w2Of(w, d, dff);
  const dw1 = dw;
  const db1 = b1Of(dw, d, dff);
  const dw2 = w2Of(dw, d, dff);
  const db2 = b2Of(dw, d, dff);
  // dW2 += hiddenᵀ·dy
  sgemm_tn(dff, d, rows, hidden, dff, dy, d, dw2, d, true);
  // dpre = (dy·W2ᵀ) ⊙ relu'(pre) ⊙ drop, with both bias gradients
  sgemm_nt(rows, dff, d, dy, d, w2, d, g, dff, false);
  reluDropBackward(g, pre, drop, dy, db1, db2, rows, d, dff);
  // dW1 += xᵀ·dpre; dx += dpre·W1ᵀ
  sgemm_tn(d, dff, rows, x, d, g, dff, dw1, dff, true);
  sgemm_nt(rows, d, dff, g, dff, w1, dff, dx, d, true);
}
