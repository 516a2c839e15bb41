// Op-table entries for assembly/layernorm.ts.
import type { OpDef } from "./registry.js";

export const layerNormOps: OpDef[] = [];
