// Op-table entries for assembly/elementwise.ts.
import type { OpDef } from "./registry.js";

export const elementwiseOps: OpDef[] = [];
