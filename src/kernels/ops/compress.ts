// Op-table entries for assembly/compress.ts.
import type { OpDef } from "./registry.js";

export const compressOps: OpDef[] = [];
