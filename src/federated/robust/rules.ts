// Which aggregation rule the coordinator applies to each partition. "mean" is FedAvg (METHOD.md);
// the others bound what a few hostile clients can do to the global model:
// - median: the coordinate-wise median (Yin et al., "Byzantine-Robust Distributed Learning", 2018);
// - trimmed: the coordinate-wise β-trimmed mean, dropping the ⌊β·n⌋ smallest and largest values;
// - normbound: every client's update is scaled down to an L2 norm of at most C, a fixed bound or
//   the median of the clients' norms that round (Sun et al., "Can You Really Backdoor Federated
//   Learning?", 2019), then averaged;
// - foolsgold: each client's weight times its FoolsGold trust (foolsgold.ts: near 0 for updates
//   much like another client's, as sybils' are), norm bounding as above, then the weighted mean.
//   The trust comes from the shared partition's rows; experts reuse each client's trust.
// - rlr: norm bounding as above, then the weighted mean with a robust learning rate (Ozdayi, Kantarcioglu,
//   Gel, "Defending against Backdoors in Federated Learning with Robust Learning Rate", AAAI 2021):
//   each coordinate's clients vote with the sign of their update (one vote each, a client that left
//   the coordinate unchanged abstains), and where |Σ signs| is below θ = ⌈agree·n⌉ the coordinate
//   steps against the mean instead of along it. A few sybils pushing coordinates the honest clients
//   disagree on (or never touch) then undo their own push; it assumes fewer than θ attackers.
// - consensus: rlr's vote, but a coordinate below θ keeps its value (step 0) instead of stepping
//   against the mean, so the honest clients' own split coordinates are frozen rather than reversed.
// Median and trimmed mean count every client once: weighting by claimed sample counts would let a
// client buy influence, so they take no weights.

export type RuleKind = "mean" | "median" | "trimmed" | "normbound" | "foolsgold" | "rlr" | "consensus";
export const RULE_KINDS: readonly RuleKind[] = ["mean", "median", "trimmed", "normbound", "foolsgold", "rlr", "consensus"];

/** An L2 bound: a fixed value, or the median of the round's client norms. */
export type NormBound = number | "median";

export interface Rule {
  kind: RuleKind;
  /** trimmed: fraction β in [0, 0.5) cut at each end. */
  trim: number;
  /** normbound, foolsgold, rlr, consensus: the bound C. */
  bound: NormBound;
  /** rlr, consensus: the sign agreement θ as a fraction of the clients, in (0, 1]. */
  agree: number;
}

/**
 * A rule for the shared-partition parameter tensors a pattern names: the tensor called `pattern`,
 * and every tensor whose name starts with `pattern.` ("mlp.0" names mlp.0.w and mlp.0.b). Such a
 * tensor is aggregated on its own (a norm bound is then measured on the tensor), the rest of the
 * partition by the partition's rule. Why per tensor: an attack may flow through one layer (on
 * KuaiSAR-R the prediction MLP's first layer), and a rule strict enough to stop it there freezes
 * learning when applied to the whole partition.
 */
export interface TensorRule {
  pattern: string;
  kind: RuleKind;
}

/** A rule per aggregated partition (group: every expert of every block). */
export interface AggregatorConfig {
  shared: RuleKind;
  group: RuleKind;
  trim: number;
  bound: NormBound;
  /** rlr's and consensus's θ / n (absent in configs written before rlr existed: AGGREGATOR_DEFAULTS.agree). */
  agree?: number;
  /** Rules for named shared tensors, overriding `shared` there (absent in configs written before them: none). */
  tensors?: TensorRule[];
}

export const AGGREGATOR_DEFAULTS: Readonly<Required<AggregatorConfig>> = { shared: "mean", group: "mean", trim: 0.1, bound: "median", agree: 0.3, tensors: [] };

/** True when every partition and tensor takes the plain mean: training keeps its chunk-sum path. */
export function isPlainMean(a: AggregatorConfig | undefined): boolean {
  return a === undefined || (a.shared === "mean" && a.group === "mean" && (a.tensors ?? []).every((t) => t.kind === "mean"));
}

/** Every rule kind the config uses anywhere. */
export function kindsOf(a: AggregatorConfig): RuleKind[] {
  return [a.shared, a.group, ...(a.tensors ?? []).map((t) => t.kind)];
}

export function ruleOf(a: AggregatorConfig, partition: "shared" | "group"): Rule {
  return { kind: a[partition], trim: a.trim, bound: a.bound, agree: a.agree ?? AGGREGATOR_DEFAULTS.agree };
}

/** Throws a RangeError naming the first setting out of range (weighting: the run's). */
export function checkAggregator(a: AggregatorConfig, weighting: "uniform" | "samples"): void {
  for (const p of ["shared", "group"] as const) {
    if (!RULE_KINDS.includes(a[p])) throw new RangeError(`aggregator.${p} must be one of ${RULE_KINDS.join(", ")}, got '${a[p]}'`);
    if (weighting === "samples" && (a[p] === "median" || a[p] === "trimmed")) throw new RangeError(`aggregator.${p} ${a[p]} counts every client once: it cannot weight by samples`);
  }
  const seen = new Set<string>();
  for (const t of a.tensors ?? []) {
    const where = `aggregator.tensors '${t.pattern}'`;
    if (!PATTERN.test(t.pattern)) throw new RangeError(`${where} is not a parameter name pattern (letters, digits, '_' and '.'-separated parts, e.g. mlp.0)`);
    if (seen.has(t.pattern)) throw new RangeError(`${where} is given twice`);
    seen.add(t.pattern);
    if (!RULE_KINDS.includes(t.kind)) throw new RangeError(`${where} must take one of ${RULE_KINDS.join(", ")}, got '${t.kind}'`);
    if (weighting === "samples" && (t.kind === "median" || t.kind === "trimmed")) throw new RangeError(`${where} ${t.kind} counts every client once: it cannot weight by samples`);
  }
  checkRule(ruleOf(a, "shared"));
}

export function checkRule(r: Rule): void {
  if (!RULE_KINDS.includes(r.kind)) throw new RangeError(`aggregation rule must be one of ${RULE_KINDS.join(", ")}, got '${r.kind}'`);
  if (!(r.trim >= 0 && r.trim < 0.5)) throw new RangeError(`aggregator trim must be in [0, 0.5), got ${r.trim}`);
  if (r.bound !== "median" && !(r.bound > 0 && Number.isFinite(r.bound))) throw new RangeError(`aggregator bound must be a positive number or 'median', got ${r.bound}`);
  if (!(r.agree > 0 && r.agree <= 1)) throw new RangeError(`aggregator agree must be a fraction in (0, 1], got ${r.agree}`);
}

/** A parameter name or a dotted prefix of names. */
const PATTERN = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/**
 * Parses "PATTERN=KIND[,PATTERN=KIND...]" (aggregator.tensors); throws a RangeError naming the
 * bad part. Whether a pattern names a tensor of the model is checked when the model is built.
 */
export function parseTensorRules(text: string): TensorRule[] {
  return text.split(",").map((part) => {
    const [pattern, kind, extra] = part.split("=").map((s) => s.trim());
    if (!pattern || kind === undefined || extra !== undefined) throw new RangeError(`'${part.trim()}' is not PATTERN=KIND`);
    if (!PATTERN.test(pattern)) throw new RangeError(`'${pattern}' is not a parameter name pattern (e.g. mlp.0 or item.fields)`);
    if (!RULE_KINDS.includes(kind as RuleKind)) throw new RangeError(`'${kind}' (for '${pattern}') is not one of ${RULE_KINDS.join(", ")}`);
    return { pattern, kind: kind as RuleKind };
  });
}

/**
 * Parses "KIND" (both partitions) or "shared=KIND,group=KIND" (a missing partition keeps the
 * mean) into the two kinds; throws a RangeError naming what is wrong.
 */
export function parseRuleKinds(text: string): Pick<AggregatorConfig, "shared" | "group"> {
  const kind = (s: string): RuleKind => {
    if (!RULE_KINDS.includes(s as RuleKind)) throw new RangeError(`'${s}' is not one of ${RULE_KINDS.join(", ")}`);
    return s as RuleKind;
  };
  if (!text.includes("=")) {
    const k = kind(text.trim());
    return { shared: k, group: k };
  }
  const out = { shared: "mean" as RuleKind, group: "mean" as RuleKind };
  for (const part of text.split(",")) {
    const [p, k] = part.split("=").map((s) => s.trim());
    if (p !== "shared" && p !== "group") throw new RangeError(`'${p}' is not a partition (shared or group)`);
    out[p] = kind(k ?? "");
  }
  return out;
}
