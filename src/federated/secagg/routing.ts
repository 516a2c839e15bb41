// Secure aggregation of an MRFF update without revealing its routing. Each client trains one expert
// per block (the one its gate chose), and the coordinator averages expert (l, k) over the clients
// routed to it — so it must learn, per expert, a sum and a count. Sending only the chosen experts
// would tell the server each client's routing (its group: a fact about its history). Instead every
// client sends the WHOLE group partition, zero in every expert it did not choose, plus a one-hot
// count per block; after unmasking the server has, per expert, Σ of the routed clients' deltas and
// how many they were, and nothing about who. The price is upload: the group part grows K-fold
// (blocks·K experts instead of blocks), on top of the shared part.
//
// Vector layout: [ shared (quantised) | group partition (quantised) | route counts (blocks·groups) ].
import type { GroupLayout } from "../aggregate.js";
import { dequantiseSum, quantiseInto, type QuantSpec } from "./quantise.js";

export interface RoutedLayout {
  /** Elements of the shared partition. */
  shared: number;
  /** Elements of the group partition (experts and any alignment gaps between them). */
  group: number;
  experts: GroupLayout;
}

export interface RoutedUpdate {
  /** Delta of the shared partition. */
  shared: Float32Array;
  /** Per block l, the delta of the expert the client chose there. */
  experts: Float32Array[];
  /** Per block l, the chosen expert k. */
  routes: Int32Array;
}

export interface RoutedSum {
  /** Σ of the shared deltas. */
  shared: Float64Array;
  /** Σ per expert of the deltas of the clients routed to it, in place in the group partition. */
  group: Float64Array;
  /** Clients routed to expert (l, k), at [l·groups + k]. */
  counts: Int32Array;
}

export function routedLength(layout: RoutedLayout): number {
  return layout.shared + layout.group + layout.experts.blocks * layout.experts.groups;
}

/** The client's vector for secure aggregation: its chosen experts in place, zeros elsewhere, one-hot counts. */
export function packRouted(update: RoutedUpdate, layout: RoutedLayout, spec: QuantSpec): Uint32Array {
  const { blocks, groups, start, size } = layout.experts;
  if (update.shared.length !== layout.shared) throw new RangeError(`packRouted: shared has ${update.shared.length} values, the layout ${layout.shared}`);
  if (update.routes.length !== blocks || update.experts.length !== blocks) {
    throw new RangeError(`packRouted: ${update.routes.length} routes and ${update.experts.length} experts for ${blocks} blocks`);
  }
  const out = new Uint32Array(routedLength(layout));
  quantiseInto(update.shared, spec, out, 0, "shared");
  for (let l = 0; l < blocks; l++) {
    const k = update.routes[l]!;
    if (!Number.isInteger(k) || k < 0 || k >= groups) throw new RangeError(`packRouted: route of block ${l} is ${k}, not in [0, ${groups})`);
    const j = l * groups + k;
    if (update.experts[l]!.length !== size[j]) throw new RangeError(`packRouted: expert of block ${l} has ${update.experts[l]!.length} values, expert (${l}, ${k}) ${size[j]}`);
    quantiseInto(update.experts[l]!, spec, out, layout.shared + start[j]!, `expert (${l}, ${k})`);
    out[layout.shared + layout.group + j] = 1;
  }
  return out;
}

/** Splits the unmasked sum of `count` packed updates into real-valued sums and per-expert counts. */
export function unpackRouted(sum: Uint32Array, layout: RoutedLayout, spec: QuantSpec, count: number): RoutedSum {
  if (sum.length !== routedLength(layout)) throw new RangeError(`unpackRouted: sum has ${sum.length} elements, the layout ${routedLength(layout)}`);
  const counts = Int32Array.from(sum.subarray(layout.shared + layout.group), (c) => c | 0);
  counts.forEach((c, j) => {
    if (c < 0 || c > count) throw new RangeError(`unpackRouted: expert ${j} counts ${c} clients of ${count}`);
  });
  for (let l = 0; l < layout.experts.blocks; l++) {
    const routed = counts.subarray(l * layout.experts.groups, (l + 1) * layout.experts.groups).reduce((a, b) => a + b, 0);
    if (routed !== count) throw new RangeError(`unpackRouted: block ${l} routes ${routed} clients, not ${count}`);
  }
  return {
    shared: dequantiseSum(sum, spec, count, 0, layout.shared),
    group: dequantiseSum(sum, spec, count, layout.shared, layout.group),
    counts,
  };
}
