// Op-table entries for assembly/loss.ts.
import type { OpDef } from "./registry.js";

export const lossOps: OpDef[] = [];
