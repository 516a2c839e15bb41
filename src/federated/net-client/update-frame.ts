// A round's output as the update frame NET-API.md defines: "shared" and "group.<l>.<k>" deltas in
// the chosen encoding (lossy ones with error feedback), "routes" (i32), "meta" ([samples, loss]).
import type { Backend } from "../../kernels/backend.js";
import { ErrorFeedback, type Encoding, type Frame, type WirePartition } from "../wire/index.js";
import type { RoundOutput } from "./round-trainer.js";
import type { Residuals } from "./state.js";

/** How the float partitions of an update (shared and experts) travel. */
export interface UpdateCompression {
  encoding: Extract<Encoding, "f32" | "int8" | "topk" | "topk-int8">;
  /** topk, topk-int8: a fraction in (0, 1) of each partition, or a count. */
  k?: number;
  /** int8, topk-int8: values per quantisation block. */
  block?: number;
}

export const RAW: Readonly<UpdateCompression> = { encoding: "f32" };

/**
 * Encodes `out`. A lossy encoding adds each partition's residual from `residuals` before it
 * compresses and leaves what it dropped there (created at zero on first use, updated in place).
 */
export function encodeUpdate(out: RoundOutput, c: UpdateCompression, residuals: Residuals, backend?: Backend): Uint8Array {
  const float = (name: string, values: Float32Array): WirePartition => ({ name, encoding: c.encoding, length: values.length, values });
  const frame: Frame = {
    type: "update",
    round: out.round,
    partitions: [
      float("shared", out.shared),
      ...out.experts.map((e) => float(`group.${e.block}.${e.group}`, e.delta)),
      { name: "routes", encoding: "i32", length: out.routes.length, values: out.routes },
      { name: "meta", encoding: "f32", length: 2, values: Float32Array.of(out.samples, out.loss) },
    ],
  };
  const lossy = c.encoding !== "f32";
  const feedback = new ErrorFeedback((name, length) => (lossy && name !== "meta" && name !== "routes" ? (residuals[name] ??= new Float32Array(length)) : null));
  return feedback.encode(frame, { k: c.k, block: c.block, backend });
}
