// The command-line options of `fedfacet serve`: the training settings it shares with `fedfacet
// train` (same names, same parsing through configFromArgs), the data spec, and the coordinator's
// own (port, state folder, round policy, limits). Every bad value is a UsageError naming its option.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { TrainConfig } from "../federated/config.js";
import { isPlainMean } from "../federated/robust/rules.js";
import type { DataSource } from "../federated/source.js";
import { SYNTHETIC_DEFAULTS, type SyntheticOptions } from "../data/synthetic.js";
import { optionError, UsageError } from "./command.js";
import { configFromArgs, int, num, TRAIN_OPTIONS } from "./train-options.js";

/** Training settings that mean the same for serve as for train. */
const SHARED = [
  "model", "rounds", "seed", "local-steps", "optimizer", "lr", "weight-decay", "server", "server-lr", "weighting",
  "dropout", "maxlen", "field-dim", "blocks", "heads", "groups", "alpha", "mlp", "gate-weighted", "user-expert-init", "click-input", "gate-clicks",
  "client-ratio", "dp-epsilon", "dp-delta", "dp-clip", "dp-noise",
  // the device preset and the options behind it (presets.ts): the devices start their private
  // values from their own history as the in-process engine does
  "preset", "user-bias", "item-bias", "personal-bias", "personal-prior", "personal-weight", "bias-init", "private-opt",
  "private-lr", "private-steps", "averaging",
  // how each device trains: a device reads them from the run's settings with the rest of its local
  // options (the round's step size from the task's round number)
  "history", "lr-schedule", "lr-final", "lr-span",
  // robust aggregation of plain rounds (the coordinator feeds the updates to DeltaAggregator)
  "aggregator", "aggregator-tensors", "trim", "norm-bound", "agree",
] as const;

export const SERVE_OPTIONS = {
  ...(Object.fromEntries(SHARED.map((k) => [k, TRAIN_OPTIONS[k]])) as Pick<typeof TRAIN_OPTIONS, (typeof SHARED)[number]>),
  "data-spec": { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  state: { type: "string" },
  "min-clients": { type: "string" },
  "clients-per-round": { type: "string" },
  "updates-per-round": { type: "string" },
  "round-deadline": { type: "string" },
  "max-clients": { type: "string" },
  "max-body": { type: "string" },
  "body-timeout": { type: "string" },
  "headers-timeout": { type: "string" },
  "secure-aggregation": { type: "boolean" },
  "secagg-threshold": { type: "string" },
  "secagg-bound": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseServeArgs(args: string[]) {
  try {
    return parseArgs({ args, options: SERVE_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw optionError(e);
  }
}

export type ServeArgs = ReturnType<typeof parseServeArgs>;

/** The run's settings: train's defaults and options, the data spec, clients per round. */
export function serveConfig(a: ServeArgs): TrainConfig {
  const c = configFromArgs(a);
  if (c.regime !== "mrff" && c.regime !== "fedsasrec") throw new UsageError(`--model: the coordinator trains mrff or fedsasrec, not ${c.regime}`);
  c.data = parseDataSpec(a["data-spec"] ?? "synthetic");
  const count = int("clients-per-round", a["clients-per-round"], 1);
  if (count !== undefined && a["client-ratio"] !== undefined) throw new UsageError("--clients-per-round and --client-ratio exclude each other");
  if (count !== undefined && c.dp) throw new UsageError("--dp-epsilon selects each registered client with probability --client-ratio (the accountant's Poisson sampling), not --clients-per-round");
  // coordinator/dp-round.ts: a plain update carries only the chosen experts, so a device cannot noise
  // the others; a secure round pads to all of them, and there the devices add the noise
  if (c.dp && a["secure-aggregation"]) {
    if (a["dp-noise"] === "central") throw new UsageError("--dp-noise central with --secure-aggregation: the coordinator would learn the un-noised sum; with secure aggregation the devices add the noise (--dp-noise local, the default then)");
    c.dp.noise = "local";
  } else if (c.dp?.noise === "local") {
    throw new UsageError("--dp-noise local needs --secure-aggregation: a plain update carries only the device's chosen experts, so its noise would depend on (and reveal) its routing");
  }
  if (count !== undefined) c.participation = { count };
  robustCombinations(a, c);
  if (c.local.private?.optimizer === "adam") throw new UsageError("--private-opt adam: a device keeps no private optimiser state between rounds over the network (use --private-opt sgd)");
  const touched = a.averaging === "touched" ? "--averaging touched" : "--preset device (touched averaging)";
  if (c.averaging === "touched") {
    // config.ts: the count of changed values needs each update in the clear, summed as it is
    if (c.dp) throw new UsageError(`${touched} with --dp-epsilon: DP releases noised sums with a fixed denominator (add --averaging all)`);
    if (a["secure-aggregation"]) throw new UsageError(`${touched} with --secure-aggregation: which values a device changed is hidden in its masked input (add --averaging all)`);
  }
  return c;
}

/**
 * A robust rule needs each device's update in the clear and its own weight: what hides the update,
 * or changes what the rule's aggregate means, is refused naming both options.
 */
function robustCombinations(a: ServeArgs, c: TrainConfig): void {
  if (isPlainMean(c.aggregator)) return;
  const rule = a.aggregator === undefined && a["aggregator-tensors"] !== undefined ? "--aggregator-tensors" : "--aggregator";
  const use = "(or use --aggregator mean)";
  if (a["secure-aggregation"]) throw new UsageError(`${rule} with --secure-aggregation: a robust rule reads each device's update, and secure aggregation shows the coordinator only the round's sum ${use}`);
  // DP's noise is calibrated to the clipped mean: one device moves it by at most clip / cohort, while
  // it may move a coordinate-wise median or a vote by up to the clip in every coordinate at once
  if (c.dp) throw new UsageError(`${rule} with --dp-epsilon: the noise is calibrated to how far one device can move the clipped mean, which bounds no robust rule ${use}`);
  if (c.averaging === "touched") {
    const touched = a.averaging === "touched" ? "--averaging touched" : "--preset device (touched averaging)";
    throw new UsageError(`${touched} with ${rule}: touched averaging stretches the plain mean by how many devices changed each value; a robust rule has its own aggregate (add --averaging all)`);
  }
  if (c.weighting === "samples") throw new UsageError(`--weighting samples with ${rule}: a device's sample count is its own claim, and a hostile one claiming a huge count would own the weighted mean (use --weighting uniform)`);
}

/** The default per-coordinate clipping bound of a secure round's deltas. */
export const SECAGG_BOUND = 0.1;

/**
 * --secure-aggregation and its options: the coordinator's `secure` setting and the fewest clients a
 * round needs (at least 3 and the threshold, unless --min-clients says more). Secure rounds weigh
 * every client 1, so the weighting becomes uniform (asking for samples is a usage error).
 */
export function secureOptions(a: ServeArgs, config: TrainConfig, minClients: number | undefined): { secure?: { bound?: number; threshold?: number }; minClients?: number } {
  const threshold = int("secagg-threshold", a["secagg-threshold"], 2);
  const bound = num("secagg-bound", a["secagg-bound"], (n) => n > 0, "a positive number");
  if (!a["secure-aggregation"]) {
    if (threshold !== undefined || bound !== undefined) throw new UsageError(`--${threshold !== undefined ? "secagg-threshold" : "secagg-bound"} needs --secure-aggregation`);
    return { minClients };
  }
  if (a.weighting === "samples") throw new UsageError("--weighting samples: secure aggregation weighs every client 1 (use --weighting uniform)");
  if (config.dp && bound !== undefined) throw new UsageError("--secagg-bound with --dp-epsilon: the quantisation range follows from --dp-clip and the calibrated noise");
  if (config.dp && threshold !== undefined) throw new UsageError("--secagg-threshold with --dp-epsilon: the coordinator tops each round's noise up to a fixed variance, which needs the majority threshold (with a fixed T the devices' noise grows with the cohort, past any fixed level)");
  config.weighting = "uniform";
  const least = Math.max(3, threshold ?? 0);
  if (minClients !== undefined && minClients < least) throw new UsageError(`--min-clients ${minClients}: secure aggregation needs at least ${least} clients a round (3, and --secagg-threshold)`);
  return { secure: { ...(!config.dp && { bound: bound ?? SECAGG_BOUND }), threshold }, minClients: minClients ?? least };
}

/** Seconds given on the command line, as milliseconds. */
export function seconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(v.trim() !== "" && Number.isFinite(n) && n > 0)) throw new UsageError(`--${name} must be a positive number of seconds, got '${v}'`);
  return n * 1000;
}

/**
 * "synthetic", "synthetic:users=40,items=200,itemFieldSizes=2/22/37" (SyntheticOptions by name;
 * list values separated by "/"), or the path of a KuaiSAR-style folder.
 */
export function parseDataSpec(spec: string): DataSource {
  if (spec !== "synthetic" && !spec.startsWith("synthetic:")) return { kind: "folder", dir: resolve(spec) };
  const options: Partial<SyntheticOptions> = {};
  const body = spec.slice("synthetic:".length);
  for (const pair of body === "" ? [] : body.split(",")) {
    const [key, value, ...rest] = pair.split("=");
    const bad = (why: string) => new UsageError(`--data-spec: '${pair}' ${why}`);
    if (!key || value === undefined || rest.length > 0) throw bad("is not name=value");
    if (!Object.hasOwn(SYNTHETIC_DEFAULTS, key)) throw bad(`names no synthetic option (${Object.keys(SYNTHETIC_DEFAULTS).join(", ")})`);
    const isList = Array.isArray(SYNTHETIC_DEFAULTS[key as keyof SyntheticOptions]);
    const nums = value.split("/").map((x) => (x.trim() === "" ? NaN : Number(x)));
    if (nums.some((x) => !Number.isFinite(x)) || (!isList && nums.length !== 1)) throw bad(`needs ${isList ? "numbers separated by /" : "a number"}`);
    (options as Record<string, unknown>)[key] = isList ? nums : nums[0];
  }
  return { kind: "synthetic", options };
}
