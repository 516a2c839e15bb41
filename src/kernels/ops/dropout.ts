// Op-table entry for assembly/dropout.ts.
import { defineOp, type OpDef } from "./registry.js";

// pct: the dropout probability in percent (dims are integers): 0 keeps everything, 99 nearly nothing.
type D = { n: number; pct: number };

export const dropoutOps: OpDef[] = [
  defineOp<D>({
    name: "dropout_mask",
    family: "dropout",
    dims: { n: [0, 300], pct: [0, 99] },
    edge: [
      { n: 0, pct: 50 }, { n: 1, pct: 50 }, { n: 3, pct: 50 }, { n: 5, pct: 10 }, { n: 1027, pct: 50 },
      { n: 64, pct: 0 }, { n: 64, pct: 99 },
    ],
    // the model's masks: one client's 65 positions × d 48, and a pooled batch of 32 sequences
    bench: [{ n: 65 * 48, pct: 50 }, { n: 32 * 65 * 48, pct: 50 }],
    tensors: [
      // any generator state but the all-zero one (a fixed point of xoshiro)
      { name: "state", role: "inout", type: "i32", size: () => 4, init: (rng) => [rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32() | 1] },
      { name: "out", role: "out", size: (d) => d.n },
    ],
    forward: (be, d, p) => be.dropoutMask(p.state!, p.out!, d.n, d.pct / 100),
    // the same integer draws and the same comparison: the masks agree bit for bit
    tol: () => ({ abs: 0, rel: 0 }),
    // no floating-point work to count: the benchmark reports times
    flops: () => 0,
  }),
];
