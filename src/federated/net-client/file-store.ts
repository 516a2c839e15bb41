// A device's state in one file (Node only): the checkpoint format (JSON header + binary arrays),
// written atomically, so a process killed mid-save leaves the previous state whole.
import { existsSync } from "node:fs";
import { readCheckpoint, writeCheckpoint, type CheckpointArray } from "../checkpoint.js";
import { checkState, type ClientState, type Residuals, type StateStore } from "./state.js";

interface Header {
  kind: "fedfacet-client-state";
  user: number;
  registration: ClientState["registration"];
  round: number;
  residuals: string[];
  pending: { round: number; residuals: string[] } | null;
}

export class FileStateStore implements StateStore {
  constructor(readonly path: string) {}

  async load(): Promise<ClientState | null> {
    if (!existsSync(this.path)) return null;
    const { header: h, arrays } = readCheckpoint<Header>(this.path);
    if (h?.kind !== "fedfacet-client-state") throw new Error(`${this.path}: not a fedfacet client state file`);
    // checkState below checks every array's type
    const residuals = (prefix: string, names: string[]) => Object.fromEntries(names.map((n) => [n, arrays[prefix + n]])) as Residuals;
    return checkState(
      {
        user: h.user,
        registration: h.registration,
        round: h.round,
        private: arrays.private ?? null,
        residuals: residuals("residual.", h.residuals),
        pending: h.pending && {
          round: h.pending.round,
          private: arrays["pending.private"],
          residuals: residuals("pending.residual.", h.pending.residuals),
        },
      },
      this.path,
    );
  }

  async save(s: ClientState): Promise<void> {
    const arrays: Record<string, CheckpointArray> = {};
    if (s.private) arrays.private = s.private;
    for (const [n, r] of Object.entries(s.residuals)) arrays[`residual.${n}`] = r;
    if (s.pending) {
      arrays["pending.private"] = s.pending.private;
      for (const [n, r] of Object.entries(s.pending.residuals)) arrays[`pending.residual.${n}`] = r;
    }
    const header: Header = {
      kind: "fedfacet-client-state",
      user: s.user,
      registration: s.registration,
      round: s.round,
      residuals: Object.keys(s.residuals),
      pending: s.pending && { round: s.pending.round, residuals: Object.keys(s.pending.residuals) },
    };
    writeCheckpoint(this.path, { header, arrays });
  }
}
