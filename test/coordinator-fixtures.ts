// A small coordinator for tests (tiny synthetic schema and model, a fresh state folder) and update
// frames built from chosen values, as a client would send them.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import type { CoordinatorStatus } from "../src/federated/coordinator/coordinator.js";
import { ApiError } from "../src/federated/coordinator/errors.js";
import type { RoundSummary } from "../src/federated/coordinator/state.js";
import type { UpdateShape } from "../src/federated/coordinator/update.js";
import { schemaOfSource } from "../src/federated/source.js";
import { crc32, encodeFrame, type WirePartition } from "../src/federated/wire/index.js";

export function smallConfig(rounds = 3): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 40, minHistory: 4, maxHistory: 12 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, blocks: 2, groups: 3, mlp: [4] };
  c.rounds = rounds;
  return c;
}

export function smallSchema(config: TrainConfig) {
  return schemaOfSource(config.data);
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-coord-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface UpdateValues {
  /** Every shared delta value is `shared` + j·1e-6 (j the position), so values are distinct. */
  shared: number;
  /** Delta of the chosen expert at each block: `expert` + j·1e-6. */
  expert: number;
  routes: number[];
  samples: number;
  loss: number;
}

/** The deltas an UpdateValues stands for: shared, then the chosen expert of each block. */
export function deltaArrays(shape: UpdateShape, v: UpdateValues): { shared: Float32Array; experts: Float32Array[] } {
  const ramp = (base: number, n: number) => Float32Array.from({ length: n }, (_, j) => base + j * 1e-6);
  const lay = shape.layout!;
  return {
    shared: ramp(v.shared, shape.sharedSize),
    experts: v.routes.map((k, l) => ramp(v.expert + l, lay.size[l * lay.groups + k]!)),
  };
}

/** The partitions of a valid update (before any tampering). */
export function updatePartitions(shape: UpdateShape, v: UpdateValues): WirePartition[] {
  const d = deltaArrays(shape, v);
  return [
    { name: "shared", encoding: "f32", length: d.shared.length, values: d.shared },
    ...d.experts.map((e, l): WirePartition => ({ name: `group.${l}.${v.routes[l]}`, encoding: "f32", length: e.length, values: e })),
    { name: "routes", encoding: "i32", length: v.routes.length, values: Int32Array.from(v.routes) },
    { name: "meta", encoding: "f32", length: 2, values: Float32Array.of(v.samples, v.loss) },
  ];
}

export function updateFrame(shape: UpdateShape, round: number, v: UpdateValues, partitions = updatePartitions(shape, v)): Uint8Array {
  return encodeFrame({ type: "update", round, partitions });
}

export function someValues(i: number): UpdateValues {
  return { shared: 0.01 * (i + 1), expert: -0.02 * (i + 1), routes: [i % 3, (i + 1) % 3], samples: 5 + i, loss: 0.6 + 0.01 * i };
}

/** A copy of `frame` changed by `edit`, its CRC recomputed. */
export function forge(frame: Uint8Array, edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const out = frame.slice();
  const view = new DataView(out.buffer);
  edit(out, view);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Where the partition table of an update frame ends (the payloads start 4-byte aligned after it). */
export function tableEnd(shape: UpdateShape, v: UpdateValues): number {
  // magic, version, type, flags, round, count; then per partition: name length, name, encoding, two u32
  return 14 + updatePartitions(shape, v).reduce((n, p) => n + 10 + p.name.length, 0);
}

/** The last round's full summary in a run without DP (a DP run's status shows only a DpRoundStatus). */
export function lastSummary(s: CoordinatorStatus): RoundSummary {
  const last = s.last;
  if (last === null || !("accepted" in last)) throw new Error(`the status holds no full round summary: ${JSON.stringify(last)}`);
  return last;
}

/** Asserts that `f` throws the ApiError `status code`, and returns it (for checks of its message). */
export function refused(f: () => unknown, status: number, code: string): ApiError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    assert.is(`${e.status} ${e.code}`, `${status} ${code}`, e.message);
    return e;
  }
  return assert.unreachable(`expected ${status} ${code}`) as never;
}
