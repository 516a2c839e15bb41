// A client's update through the wire format, as a deployment sends it (NET-API.md): the delta
// (trained − global) of the shared partition and of the expert chosen at each block, the routes
// and [samples, loss], encoded with the run's compression and the client's error feedback, then
// decoded as the coordinator would; the store is left holding global + decoded delta, which is
// what aggregation sums. Also the byte counts of the raw (uncompressed) frames.
import type { ParamStore } from "../autograd/params.js";
import type { GroupLayout } from "./aggregate.js";
import type { ClientUpdate } from "./client.js";
import type { ClientSlots } from "./client-slots.js";
import type { Compression } from "./config.js";
import { decodeFrame, ErrorFeedback, rawFrameBytes, type CodecOptions, type Frame, type WirePartition } from "./wire/index.js";

export const expertPartition = (l: number, k: number): string => `group.${l}.${k}`;

/** Names and lengths of an update's partitions, for the raw f32 frame's size. */
export function updateShape(sharedSize: number, layout: GroupLayout | null, routes: ArrayLike<number>): { name: string; length: number }[] {
  const parts = [{ name: "shared", length: sharedSize }];
  if (layout) for (let l = 0; l < layout.blocks; l++) parts.push({ name: expertPartition(l, routes[l]!), length: layout.size[l * layout.groups + routes[l]!]! });
  parts.push({ name: "routes", length: routes.length }, { name: "meta", length: 2 });
  return parts;
}

/** Bytes of a round's task frame (values, not deltas: the downlink is sent uncompressed). */
export function taskBytes(sharedSize: number, groupSize: number, layout: GroupLayout | null): number {
  const parts = [{ name: "shared", length: sharedSize }];
  if (layout) parts.push({ name: "group", length: groupSize }, { name: "groupShare", length: layout.blocks * layout.groups });
  parts.push({ name: "meta", length: 1 });
  return rawFrameBytes(parts);
}

export class Uplink {
  private readonly sharedSize: number;
  /** Offset and length of each partition's residual inside a client's slice of `residuals`. */
  private readonly slots = new Map<string, [number, number]>();
  private readonly options: CodecOptions;
  /** The client being sent's residual, between reading and writing back its slot. */
  private readonly residual: Float32Array;

  /**
   * @param residuals every client's error-feedback residual, (shared + group) values a slot (a
   *   file any worker can read, so that any worker can send any client, and the checkpoint saves it)
   */
  constructor(
    private readonly store: ParamStore,
    private readonly layout: GroupLayout | null,
    private readonly compression: Exclude<Compression, { kind: "f32" }>,
    private readonly residuals: ClientSlots,
  ) {
    this.sharedSize = store.buffer("shared").size;
    const per = this.sharedSize + store.buffer("group").size;
    if (residuals.size !== per) throw new RangeError(`Uplink: residual slots of ${residuals.size} values, the update has ${per}`);
    this.residual = new Float32Array(per);
    this.slots.set("shared", [0, this.sharedSize]);
    if (layout) {
      for (let l = 0; l < layout.blocks; l++) {
        for (let k = 0; k < layout.groups; k++) this.slots.set(expertPartition(l, k), [this.sharedSize + layout.start[l * layout.groups + k]!, layout.size[l * layout.groups + k]!]);
      }
    }
    this.options = { k: "k" in compression ? compression.k : undefined, block: "block" in compression ? compression.block : undefined, backend: store.be };
  }

  /**
   * Sends client c's update (its trained values are in the store, the round's values in
   * `global` = [shared | group]); returns the encoded frame's size and the update as decoded.
   */
  send(c: number, round: number, global: Float32Array, upd: ClientUpdate): { bytes: number; update: ClientUpdate } {
    const f = this.store.be.f;
    const shared = this.store.buffer("shared").values;
    const group = this.store.buffer("group").values - this.sharedSize; // so that global index j sits at group + j
    const enc = this.compression.kind;
    const delta = (name: string, from: number, at: number, n: number): WirePartition => {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = f[at + i]! - global[from + i]!;
      return { name, encoding: enc, length: n, values: d };
    };
    const parts = [delta("shared", 0, shared, this.sharedSize)];
    const lay = this.layout;
    if (lay) {
      for (let l = 0; l < lay.blocks; l++) {
        const name = expertPartition(l, upd.routes[l]!);
        const [from, n] = this.slots.get(name)!;
        parts.push(delta(name, from, group + from, n));
      }
    }
    parts.push({ name: "routes", encoding: "i32", length: upd.routes.length, values: Int32Array.from(upd.routes) });
    parts.push({ name: "meta", encoding: "f32", length: 2, values: Float32Array.of(upd.samples, upd.loss) });
    const frame: Frame = { type: "update", round, partitions: parts };
    this.residuals.read(c, this.residual);
    const feedback = new ErrorFeedback((name) => {
      const slot = this.slots.get(name);
      return slot ? this.residual.subarray(slot[0], slot[0] + slot[1]) : null;
    });
    const bytes = feedback.encode(frame, this.options);
    this.residuals.write(c, this.residual);
    const back = new Map(decodeFrame(bytes).partitions.map((p) => [p.name, p.values]));
    // the store now holds what the coordinator reconstructs: global + decoded delta
    const g = this.store.be.f;
    for (const [name, [from, n]] of this.slots) {
      const d = back.get(name);
      if (!d) continue;
      const at = name === "shared" ? shared : group + from;
      for (let i = 0; i < n; i++) g[at + i] = global[from + i]! + d[i]!;
    }
    const meta = back.get("meta")!;
    return { bytes: bytes.length, update: { routes: back.get("routes") as Int32Array, samples: meta[0]!, loss: meta[1]! } };
  }
}
