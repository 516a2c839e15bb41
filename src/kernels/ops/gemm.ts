// Op-table entries for assembly/gemm.ts.
import type { OpDef } from "./registry.js";

export const gemmOps: OpDef[] = [];
