// Elementwise helpers the layers need: residual adds, masks, biases and ReLU. Byte pointers, f32
// data; four lanes at a time with scalar tails. Every loop reads element j before it writes
// element j, so an output may alias an input exactly (out = a), as the contract allows.

export function add(a: usize, b: usize, out: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

export function mul(a: usize, b: usize, out: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

/** x[r, :] *= mask[r] (the mask is one f32 per row: 1 for a real item, 0 for padding). */
export function mul_row_mask(x: usize, mask: usize, rows: i32, cols: i32): void {
  const stride = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const s = load<f32>(mask + (<usize>r << 2));
    const row = x + <usize>r * stride;
    const vs = f32x4.splat(s);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const p = row + (<usize>c << 2);
      v128.store(p, f32x4.mul(v128.load(p), vs));
    }
    for (; c < cols; c++) {
      const p = row + (<usize>c << 2);
      store<f32>(p, load<f32>(p) * s);
    }
  }
}

export function add_row_vector(y: usize, b: usize, rows: i32, cols: i32): void {
  const stride = <usize>cols << 2;
  for (let r = 0; r < rows; r++) add(y + <usize>r * stride, b, y + <usize>r * stride, cols);
}

// Columns summed per sweep down the rows: four v128 accumulators stay in registers while the
// rows stream past, instead of loading and storing `out` once per row.
const COL_BLOCK: i32 = 16;

/** out[c] += Σ_r x[r, c], summing each column in row order. */
export function col_sum_acc(x: usize, out: usize, rows: i32, cols: i32): void {
  const stride = <usize>cols << 2;
  let c = 0;
  for (; c + COL_BLOCK <= cols; c += COL_BLOCK) {
    const po = out + (<usize>c << 2);
    let a0 = v128.load(po);
    let a1 = v128.load(po, 16);
    let a2 = v128.load(po, 32);
    let a3 = v128.load(po, 48);
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rows; r++) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
      p += stride;
    }
    v128.store(po, a0);
    v128.store(po, a1, 16);
    v128.store(po, a2, 32);
    v128.store(po, a3, 48);
  }
  for (; c + 4 <= cols; c += 4) {
    const po = out + (<usize>c << 2);
    let a = v128.load(po);
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rows; r++) {
      a = f32x4.add(a, v128.load(p));
      p += stride;
    }
    v128.store(po, a);
  }
  for (; c < cols; c++) {
    const po = out + (<usize>c << 2);
    let a = load<f32>(po);
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rows; r++) {
      a += load<f32>(p);
      p += stride;
    }
    store<f32>(po, a);
  }
}

/** y = max(x, 0); pmax is x < 0 ? 0 : x, one instruction on x86 (NaN passes through, as in JS). */
export function relu_forward(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, f32x4.pmax(v128.load(x + o), zero));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v < 0 ? 0 : v);
  }
}

/** dx += dy where x > 0 (the subgradient at 0 is taken as 0). */
export function relu_backward(dy: usize, x: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const pass = f32x4.gt(v128.load(x + o), zero);
    v128.store(dx + o, f32x4.add(v128.load(dx + o), v128.and(v128.load(dy + o), pass)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    if (load<f32>(x + o) > 0) store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o));
  }
}
