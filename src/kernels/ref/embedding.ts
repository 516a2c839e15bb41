// Reference (oracle) for assembly/embedding.ts.
import type { RefMem } from "./mem.js";

export function embeddingGather(m: RefMem, table: number, idx: number, out: number, n: number, fields: number, dim: number): void {
  const f = m.f;
  for (let r = 0; r < n * fields; r++) {
    const row = table + m.i[idx + r]! * dim;
    for (let j = 0; j < dim; j++) f[out + r * dim + j] = f[row + j]!;
  }
}

export function embeddingScatterAdd(m: RefMem, dout: number, idx: number, dtable: number, n: number, fields: number, dim: number): void {
  const f = m.f;
  for (let r = 0; r < n * fields; r++) {
    const row = dtable + m.i[idx + r]! * dim;
    for (let j = 0; j < dim; j++) f[row + j] = f[row + j]! + f[dout + r * dim + j]!;
  }
}
