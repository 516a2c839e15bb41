// Op-table entries for assembly/embedding.ts.
import { defineOp, type OpDef } from "./registry.js";

// rows: rows in the shared table; kept small in random shapes so that indices repeat often.
type E = { n: number; fields: number; dim: number; rows: number };
const dims = { n: [0, 40] as [number, number], fields: [1, 6] as [number, number], dim: [0, 19] as [number, number], rows: [1, 12] as [number, number] };
const edge: E[] = [
  { n: 0, fields: 6, dim: 8, rows: 3 },
  { n: 1, fields: 1, dim: 1, rows: 1 },
  { n: 3, fields: 2, dim: 5, rows: 4 },
  { n: 2, fields: 3, dim: 6, rows: 2 },
  { n: 4, fields: 1, dim: 7, rows: 9 },
  // every index the same row: the scatter-add must sum all 20 contributions
  { n: 10, fields: 2, dim: 9, rows: 1 },
  { n: 65, fields: 6, dim: 8, rows: 50 },
];
// The model: 6 item fields × 8 = d 48 over maxlen 65 positions (one client's sequence, and a
// pooled batch of 32 sequences), and 4 user fields × 8 for one user.
const bench: E[] = [
  { n: 65, fields: 6, dim: 8, rows: 5000 },
  { n: 65 * 32, fields: 6, dim: 8, rows: 5000 },
  { n: 1, fields: 4, dim: 8, rows: 2000 },
];
const indices = (rng: { int(n: number): number }, count: number, d: E) => Array.from({ length: count }, () => rng.int(d.rows));
const tensorsOf = (d: E) => ({ table: d.rows * d.dim, idx: d.n * d.fields, out: d.n * d.fields * d.dim });
// Copies are exact; the scatter-add sums in the same row order as the reference, in f32 storage.
const exact = () => ({ abs: 0, rel: 0 });

export const embeddingOps: OpDef[] = [
  defineOp<E>({
    name: "embedding_gather",
    family: "embedding",
    dims,
    edge,
    bench,
    tensors: [
      { name: "table", role: "in", size: (d) => tensorsOf(d).table },
      { name: "idx", role: "in", type: "i32", size: (d) => tensorsOf(d).idx, init: (rng, n, d) => indices(rng, n, d) },
      { name: "out", role: "out", size: (d) => tensorsOf(d).out },
    ],
    forward: (be, d, p) => be.embeddingGather(p.table!, p.idx!, p.out!, d.n, d.fields, d.dim),
    tol: exact,
    flops: () => 0,
    grad: {
      wrt: ["table"],
      of: ["out"],
      backward: (be, d, p) => be.embeddingScatterAdd(p.dout!, p.idx!, p.dtable!, d.n, d.fields, d.dim),
      flops: (d) => tensorsOf(d).out,
      // the WASM scatter-add rounds to f32 after each of up to n·fields adds into one row, the f64
      // reference does not: at most (adds + 1)·2⁻²⁴ of the peak (inputs are prefilled normals)
      tol: (d) => ({ abs: 0, rel: 6e-8 * (d.n * d.fields + 2) }),
    },
  }),
  // The scatter-add on its own, so that random shapes (with many repeated indices) reach it too.
  defineOp<E>({
    name: "embedding_scatter_add",
    family: "embedding",
    dims,
    edge,
    bench,
    tensors: [
      { name: "dout", role: "in", size: (d) => tensorsOf(d).out },
      { name: "idx", role: "in", type: "i32", size: (d) => tensorsOf(d).idx, init: (rng, n, d) => indices(rng, n, d) },
      { name: "dtable", role: "inout", size: (d) => tensorsOf(d).table },
    ],
    forward: (be, d, p) => be.embeddingScatterAdd(p.dout!, p.idx!, p.dtable!, d.n, d.fields, d.dim),
    tol: exact,
    flops: (d) => tensorsOf(d).out,
  }),
];
