// Op-table entries for assembly/adam.ts.
import type { OpDef } from "./registry.js";

export const adamOps: OpDef[] = [];
