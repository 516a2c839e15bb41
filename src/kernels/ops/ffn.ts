// Op-table entries for assembly/ffn.ts.
import type { OpDef } from "./registry.js";

export const ffnOps: OpDef[] = [];
