// What a client's update frame must hold for this model (NET-API.md): "shared" (the delta of the
// whole shared partition), "group.<l>.<k>" (the delta of the expert chosen at block l, one per
// block, k = routes[l]), "routes" (i32, one per block) and "meta" (f32: [samples, loss]). Checked
// whole before anything of it reaches the round, so that a refused update changes nothing.
import type { Weighting } from "../runner.js";
import type { ClientDelta, GroupLayout } from "../aggregate.js";
import type { Frame, WirePartition } from "../wire/index.js";
import { ApiError } from "./errors.js";

export interface UpdateShape {
  /** Elements of the shared partition. */
  sharedSize: number;
  blocks: number;
  /** Null without a group partition (fedsasrec): then every route is 0 and no expert is sent. */
  layout: GroupLayout | null;
}

const EXPERT_NAME = /^group\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$/;

const badPartition = (message: string) => new ApiError(400, "bad-partition", message);
const badShape = (message: string) => new ApiError(400, "bad-shape", message);

/** The update as deltas to aggregate, or an ApiError (400) naming the first problem. */
export function readUpdate(frame: Frame, shape: UpdateShape, weighting: Weighting): ClientDelta {
  const byName = new Map<string, WirePartition>();
  const experts = new Map<number, { k: number; p: WirePartition }>();
  for (const p of frame.partitions) {
    if (byName.has(p.name)) throw badPartition(`partition '${p.name}' appears twice`);
    byName.set(p.name, p);
    if (p.name === "shared" || p.name === "routes" || p.name === "meta") continue;
    const m = EXPERT_NAME.exec(p.name);
    if (!m) throw badPartition(`unknown partition '${p.name}' (an update holds shared, group.<block>.<group>, routes and meta)`);
    const l = Number(m[1]);
    if (!shape.layout || l >= shape.blocks) throw badPartition(`partition '${p.name}': the model has ${shape.layout ? `${shape.blocks} blocks` : "no group experts"}`);
    if (experts.has(l)) throw badPartition(`two experts of block ${l} ('group.${l}.${experts.get(l)!.k}' and '${p.name}')`);
    experts.set(l, { k: Number(m[2]), p });
  }
  const shared = floats(need(byName, "shared"), shape.sharedSize);
  const routes = need(byName, "routes");
  if (!(routes.values instanceof Int32Array)) throw badPartition(`'routes' must be i32, got ${routes.encoding}`);
  if (routes.values.length !== shape.blocks) throw badShape(`'routes' has ${routes.values.length} values, the model has ${shape.blocks} blocks`);
  const groups = shape.layout?.groups ?? 1;
  routes.values.forEach((k, l) => {
    if (!(k >= 0 && k < groups)) throw badPartition(`routes[${l}] = ${k} is not a group in [0, ${groups})`);
  });
  const expertDeltas: Float32Array[] = [];
  const lay = shape.layout;
  if (lay) {
    for (let l = 0; l < shape.blocks; l++) {
      const e = experts.get(l);
      const k = routes.values[l]!;
      if (!e) throw badPartition(`no 'group.${l}.${k}' for the expert routes[${l}] chose`);
      if (e.k !== k) throw badPartition(`'${e.p.name}' is not the expert routes[${l}] = ${k} chose`);
      expertDeltas.push(floats(e.p, lay.size[l * lay.groups + k]!));
    }
  }
  const meta = floats(need(byName, "meta"), 2);
  const [samples, loss] = meta as unknown as [number, number];
  if (!(samples >= 0)) throw badPartition(`meta: samples must be >= 0, got ${samples}`);
  return { weight: weighting === "samples" ? samples : 1, shared, experts: expertDeltas, routes: routes.values, loss, samples };
}

function need(byName: Map<string, WirePartition>, name: string): WirePartition {
  const p = byName.get(name);
  if (!p) throw badPartition(`the update has no '${name}' partition`);
  return p;
}

/** A partition's values as f32 of the expected length (decodeFrame has refused non-finite ones). */
function floats(p: WirePartition, length: number): Float32Array {
  if (!(p.values instanceof Float32Array)) throw badPartition(`'${p.name}' must hold floats, got ${p.encoding}`);
  if (p.values.length !== length) throw badShape(`'${p.name}' has ${p.values.length} values, expected ${length}`);
  return p.values;
}
