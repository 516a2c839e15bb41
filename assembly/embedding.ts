// Field embeddings: gather rows of one shared table by i32 index, and the backward scatter-add.
// Byte pointers; rows of `dim` floats are moved four lanes at a time with a scalar tail (not
// memory.copy: for the model's 32-byte rows it measured 3× slower, a call per row in V8). Indices
// are trusted (the host validates them), as the contract states.
import { add } from "./elementwise";

/** out[r, :] = table[idx[r], :] for the n·fields rows r. */
export function embedding_gather(table: usize, idx: usize, out: usize, n: i32, fields: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  const count = n * fields;
  for (let r = 0; r < count; r++) {
    const src = table + <usize>load<i32>(idx + (<usize>r << 2)) * rowBytes;
    const dst = out + <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const o = <usize>j << 2;
      v128.store(dst + o, v128.load(src + o));
    }
    for (; j < dim; j++) {
      const o = <usize>j << 2;
      store<f32>(dst + o, load<f32>(src + o));
    }
  }
}

/** dtable[idx[r], :] += dout[r, :], row by row in order, so repeated indices add up. */
export function embedding_scatter_add(dout: usize, idx: usize, dtable: usize, n: i32, fields: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  const count = n * fields;
  for (let r = 0; r < count; r++) {
    const dst = dtable + <usize>load<i32>(idx + (<usize>r << 2)) * rowBytes;
    add(dst, dout + <usize>r * rowBytes, dst, dim);
  }
}
