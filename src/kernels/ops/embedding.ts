// Op-table entries for assembly/embedding.ts.
import type { OpDef } from "./registry.js";

export const embeddingOps: OpDef[] = [];
