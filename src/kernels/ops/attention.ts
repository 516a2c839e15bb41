// Op-table entries for assembly/attention.ts.
import type { OpDef } from "./registry.js";

export const attentionOps: OpDef[] = [];
