// The shared partition under per-tensor rules (rules.ts TensorRule): the partition's rule over the
// whole rows, as without tensor rules, then each tensor a pattern names is overwritten by its own
// rule applied to that tensor's values alone. The partition's rule also runs over the named tensors
// (work thrown away there) so that what it computes elsewhere — a norm bound measured on the
// whole row, FoolsGold's trust — does not change when a tensor rule is added.
// Order invariance holds per unit, as aggregateRows is order invariant: the output does not depend
// on the order of the clients, bit for bit.
import type { ParamStore } from "../../autograd/params.js";
import { aggregateRows, type ClientRows } from "./aggregate-rows.js";
import type { AggregatorConfig, Rule, RuleKind, TensorRule } from "./rules.js";

/** A parameter tensor's place in the partition. */
export interface TensorSlice {
  name: string;
  start: number;
  size: number;
}

/** A tensor and the rule it takes. */
export interface TensorUnit extends TensorSlice {
  kind: RuleKind;
}

/**
 * Resolves the patterns against the partition's tensors. Throws a RangeError naming a pattern that
 * names no tensor, or a tensor two patterns name.
 */
export function resolveTensorRules(rules: readonly TensorRule[], tensors: readonly TensorSlice[]): TensorUnit[] {
  const units: TensorUnit[] = [];
  const by = new Map<string, string>();
  for (const r of rules) {
    const hit = tensors.filter((t) => t.name === r.pattern || t.name.startsWith(r.pattern + "."));
    if (hit.length === 0) throw new RangeError(`aggregator.tensors '${r.pattern}' names no shared-partition parameter (they are: ${tensors.map((t) => t.name).join(", ")})`);
    for (const t of hit) {
      const other = by.get(t.name);
      if (other !== undefined) throw new RangeError(`aggregator.tensors: parameter ${t.name} is named by both '${other}' and '${r.pattern}'`);
      by.set(t.name, r.pattern);
      if (t.size > 0) units.push({ ...t, kind: r.kind });
    }
  }
  return units.sort((a, b) => a.start - b.start);
}

/** The config's tensor rules resolved against a model's shared partition (none: no units). */
export function sharedTensorUnits(aggregator: AggregatorConfig | undefined, store: ParamStore): TensorUnit[] {
  return resolveTensorRules(aggregator?.tensors ?? [], store.names("shared").map((n) => store.slice(n)));
}

/** Writes the partition's aggregate into `out` (the rows' length): `base` everywhere, then each unit's rule on its range. */
export function aggregateTensors(base: Rule, units: readonly TensorUnit[], input: ClientRows, out: Float64Array): void {
  aggregateRows(base, input, out);
  for (const u of units) {
    const rows = input.rows.map((r) => r.subarray(u.start, u.start + u.size));
    aggregateRows({ ...base, kind: u.kind }, { ...input, rows }, out.subarray(u.start, u.start + u.size));
  }
}
