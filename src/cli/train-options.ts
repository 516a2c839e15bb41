// The command-line options of `fedfacet train` and how they map onto a TrainConfig. Every bad value
// is a UsageError that names its option.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { COMPRESSIONS, defaultConfig, REGIMES, type Compression, type Regime, type TrainConfig } from "../federated/config.js";
import { DEFAULT_CLIP, DP_NOISES, planDp, samplingRate } from "../federated/dp-config.js";
import { DEFAULT_BLOCK } from "../federated/wire/index.js";
import { AGGREGATOR_DEFAULTS, parseRuleKinds, parseTensorRules, type AggregatorConfig } from "../federated/robust/rules.js";
import { applyPreset, PRESETS } from "../federated/presets.js";
import { PRIVATE_DEFAULTS } from "../federated/private-training.js";
import { LR_SCHEDULES } from "../optim/schedule.js";
import { optionError, UsageError } from "./command.js";

export const TRAIN_OPTIONS = {
  data: { type: "string" },
  model: { type: "string" },
  preset: { type: "string" },
  backbone: { type: "string" },
  rounds: { type: "string" },
  seed: { type: "string" },
  workers: { type: "string" },
  out: { type: "string" },
  resume: { type: "string" },
  force: { type: "boolean" },
  "eval-every": { type: "string" },
  clients: { type: "string" },
  "client-ratio": { type: "string" },
  "local-steps": { type: "string" },
  optimizer: { type: "string" },
  lr: { type: "string" },
  "lr-schedule": { type: "string" },
  "lr-final": { type: "string" },
  "lr-span": { type: "string" },
  server: { type: "string" },
  "server-lr": { type: "string" },
  "weight-decay": { type: "string" },
  weighting: { type: "string" },
  averaging: { type: "string" },
  "batch-size": { type: "string" },
  dropout: { type: "string" },
  maxlen: { type: "string" },
  "field-dim": { type: "string" },
  blocks: { type: "string" },
  heads: { type: "string" },
  groups: { type: "string" },
  alpha: { type: "string" },
  mlp: { type: "string" },
  "gate-weighted": { type: "boolean" },
  "user-expert-init": { type: "string" },
  "click-input": { type: "boolean" },
  "gate-clicks": { type: "boolean" },
  aggregator: { type: "string" },
  "aggregator-tensors": { type: "string" },
  trim: { type: "string" },
  "norm-bound": { type: "string" },
  agree: { type: "string" },
  "user-bias": { type: "boolean" },
  "item-bias": { type: "boolean" },
  "personal-bias": { type: "string" },
  "personal-weight": { type: "string" },
  "personal-prior": { type: "string" },
  history: { type: "string" },
  "bias-init": { type: "string" },
  "private-opt": { type: "string" },
  "private-lr": { type: "string" },
  "private-steps": { type: "string" },
  chunk: { type: "string" },
  compression: { type: "string" },
  topk: { type: "string" },
  "int8-block": { type: "string" },
  bootstrap: { type: "string" },
  "dp-epsilon": { type: "string" },
  "dp-delta": { type: "string" },
  "dp-clip": { type: "string" },
  "dp-noise": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export type TrainArgs = ReturnType<typeof parseTrainArgs>;

export function parseTrainArgs(args: string[]) {
  try {
    return parseArgs({ args, options: TRAIN_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw optionError(e);
  }
}

export function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(v.trim() !== "" && Number.isInteger(n) && n >= min)) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function num(name: string, v: string | undefined, ok: (n: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(v.trim() !== "" && Number.isFinite(n) && ok(n))) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got '${v}'`);
  return v as T;
}

/** Options that decide the numbers of a run: a resumed run takes them from its checkpoint. */
export const RUN_SETTINGS = Object.keys(TRAIN_OPTIONS).filter((k) => !["rounds", "workers", "out", "resume", "force", "help"].includes(k));

/** The run's configuration: defaults for the regime, overridden by the options given. */
export function configFromArgs(a: TrainArgs): TrainConfig {
  const regime: Regime = oneOf("model", a.model, REGIMES) ?? "mrff";
  const c = defaultConfig(regime);
  const preset = oneOf("preset", a.preset, PRESETS);
  if (preset !== undefined) applyPreset(c, preset);
  const backbone = oneOf("backbone", a.backbone, ["mrff", "fedsasrec"] as const);
  if (backbone !== undefined) {
    if (regime === "mrff" || regime === "fedsasrec") throw new UsageError(`--backbone applies to --model local and central only (${regime} is its own backbone)`);
    c.model.kind = backbone;
  }
  if (a.data !== undefined) c.data = { kind: "folder", dir: resolve(a.data) };
  c.rounds = int("rounds", a.rounds, 1) ?? c.rounds;
  c.seed = int("seed", a.seed, 0) ?? c.seed;
  c.evalEvery = int("eval-every", a["eval-every"], 1) ?? c.evalEvery;
  if (a.clients !== undefined && a["client-ratio"] !== undefined) throw new UsageError("--clients and --client-ratio exclude each other");
  const count = int("clients", a.clients, 1);
  const ratio = num("client-ratio", a["client-ratio"], (n) => n > 0 && n <= 1, "a fraction in (0, 1]");
  if (count !== undefined) c.participation = { count };
  if (ratio !== undefined) c.participation = { ratio };
  c.local.localSteps = int("local-steps", a["local-steps"], 1) ?? c.local.localSteps;
  c.local.optimizer = oneOf("optimizer", a.optimizer, ["adam", "sgd"] as const) ?? c.local.optimizer;
  c.local.lr = num("lr", a.lr, (n) => n > 0, "a positive number") ?? c.local.lr;
  lrScheduleFromArgs(a, c);
  const history = oneOf("history", a.history, ["last", "all"] as const);
  if (history !== undefined) c.local.history = history;
  c.local.weightDecay = num("weight-decay", a["weight-decay"], (n) => n >= 0, "a number >= 0") ?? c.local.weightDecay;
  c.server.optimizer = oneOf("server", a.server, ["avg", "adam"] as const) ?? c.server.optimizer;
  c.server.lr = num("server-lr", a["server-lr"], (n) => n > 0, "a positive number") ?? c.server.lr;
  c.weighting = oneOf("weighting", a.weighting, ["uniform", "samples"] as const) ?? c.weighting;
  const averaging = oneOf("averaging", a.averaging, ["all", "touched"] as const);
  if (averaging !== undefined) c.averaging = averaging;
  c.batchSize = int("batch-size", a["batch-size"], 1) ?? c.batchSize;
  const m = c.model;
  m.dropout = num("dropout", a.dropout, (n) => n >= 0 && n < 1, "in [0, 1)") ?? m.dropout;
  m.maxlen = int("maxlen", a.maxlen, 1) ?? m.maxlen;
  m.fieldDim = int("field-dim", a["field-dim"], 1) ?? m.fieldDim;
  m.blocks = int("blocks", a.blocks, 1) ?? m.blocks;
  m.heads = int("heads", a.heads, 1) ?? m.heads;
  m.groups = int("groups", a.groups, 1) ?? m.groups;
  m.alpha = num("alpha", a.alpha, (n) => n >= 0, "a number >= 0") ?? m.alpha;
  if (a.mlp !== undefined) {
    const widths = a.mlp.split(",").map((w) => Number(w.trim()));
    if (!widths.every((w) => Number.isInteger(w) && w >= 1)) throw new UsageError(`--mlp must be comma-separated positive integers, got '${a.mlp}'`);
    m.mlp = widths;
  }
  if (a["gate-weighted"]) m.gateWeighted = true;
  const userInit = oneOf("user-expert-init", a["user-expert-init"], ["fan-in", "zero"] as const);
  if (userInit !== undefined) m.userExpertInit = userInit;
  if (a["click-input"]) m.clickInput = true;
  if (a["gate-clicks"]) m.gateClicks = true;
  c.compression = compressionFromArgs(a, regime);
  if (a.aggregator !== undefined || a["aggregator-tensors"] !== undefined || a.trim !== undefined || a["norm-bound"] !== undefined || a.agree !== undefined) c.aggregator = aggregatorFromArgs(a);
  if (a["user-bias"]) m.userBias = true;
  if (a["item-bias"]) m.itemBias = true;
  const personal = oneOf("personal-bias", a["personal-bias"], ["trained", "eval"] as const);
  if (personal !== undefined) m.personalBias = personal;
  privateOptions(a, c);
  c.chunk = int("chunk", a.chunk, 1) ?? c.chunk;
  c.bootstrap = int("bootstrap", a.bootstrap, 1) ?? c.bootstrap;
  dpFromArgs(a, c);
  return c;
}

/** --dp-*: DP-FedAvg with the noise calibrated to the budget over the planned rounds. */
function dpFromArgs(a: TrainArgs, c: TrainConfig): void {
  const epsilon = num("dp-epsilon", a["dp-epsilon"], (n) => n > 0, "a positive number");
  if (epsilon === undefined) {
    const stray = (["dp-delta", "dp-clip", "dp-noise"] as const).filter((k) => a[k] !== undefined);
    if (stray.length > 0) throw new UsageError(`--${stray[0]} needs --dp-epsilon (the privacy budget)`);
    return;
  }
  const delta = num("dp-delta", a["dp-delta"], (n) => n > 0 && n < 1, "in (0, 1)");
  if (delta === undefined) throw new UsageError("--dp-epsilon needs --dp-delta (e.g. 1e-5, well below 1/clients)");
  if (c.regime !== "mrff" && c.regime !== "fedsasrec") throw new UsageError(`--dp-epsilon applies to --model mrff and fedsasrec, not ${c.regime}`);
  if (c.compression.kind !== "f32") throw new UsageError(`--dp-epsilon takes uncompressed updates, not --compression ${c.compression.kind}`);
  if (c.weighting !== "uniform") throw new UsageError("--dp-epsilon needs --weighting uniform (clipping bounds a client's update at weight 1)");
  if (!("ratio" in c.participation)) throw new UsageError("--dp-epsilon needs --client-ratio (the sampling rate the accountant uses), not --clients");
  const clip = num("dp-clip", a["dp-clip"], (n) => n > 0, "a positive number") ?? DEFAULT_CLIP;
  const noise = oneOf("dp-noise", a["dp-noise"], DP_NOISES) ?? "central";
  try {
    c.dp = planDp({ epsilon, delta, clip, noise }, samplingRate(c.participation), c.rounds, c.regime === "mrff");
  } catch (e) {
    throw new UsageError(`--dp-epsilon: ${(e as Error).message}`);
  }
}

/** --compression, --topk, --int8-block: how a client's update is encoded on the wire. */
function compressionFromArgs(a: TrainArgs, regime: Regime): Compression {
  const kind = oneOf("compression", a.compression, COMPRESSIONS) ?? "f32";
  const topk = num("topk", a.topk, (n) => n > 0 && (n < 1 || Number.isInteger(n)), "a fraction in (0, 1) or an integer count >= 1");
  const block = int("int8-block", a["int8-block"], 1);
  if (kind !== "f32" && regime !== "mrff" && regime !== "fedsasrec") throw new UsageError(`--compression applies to --model mrff and fedsasrec (${regime} sends no updates)`);
  const usesK = kind === "topk" || kind === "topk-int8";
  const usesBlock = kind === "int8" || kind === "topk-int8";
  if (topk !== undefined && !usesK) throw new UsageError(`--topk applies to --compression topk and topk-int8, not ${kind}`);
  if (block !== undefined && !usesBlock) throw new UsageError(`--int8-block applies to --compression int8 and topk-int8, not ${kind}`);
  if (usesK && topk === undefined) throw new UsageError(`--compression ${kind} needs --topk (a fraction in (0, 1) or a count)`);
  switch (kind) {
    case "f32":
      return { kind };
    case "int8":
      return { kind, block: block ?? DEFAULT_BLOCK };
    case "topk":
      return { kind, k: topk! };
    case "topk-int8":
      return { kind, k: topk!, block: block ?? DEFAULT_BLOCK };
  }
}

/** --aggregator KIND | shared=KIND,group=KIND, --aggregator-tensors PATTERN=KIND,..., --trim β, --norm-bound C|median, --agree θ/n. */
function aggregatorFromArgs(a: TrainArgs): AggregatorConfig {
  let kinds: Pick<AggregatorConfig, "shared" | "group"> = AGGREGATOR_DEFAULTS;
  if (a.aggregator !== undefined) {
    try {
      kinds = parseRuleKinds(a.aggregator);
    } catch (e) {
      throw new UsageError(`--aggregator: ${(e as Error).message} (give KIND or shared=KIND,group=KIND)`);
    }
  }
  const trim = num("trim", a.trim, (n) => n >= 0 && n < 0.5, "a fraction in [0, 0.5)") ?? AGGREGATOR_DEFAULTS.trim;
  const nb = a["norm-bound"];
  const bound = nb === "median" ? "median" : (num("norm-bound", nb, (n) => n > 0, "a positive number or 'median'") ?? AGGREGATOR_DEFAULTS.bound);
  const agree = num("agree", a.agree, (n) => n > 0 && n <= 1, "a fraction in (0, 1]") ?? AGGREGATOR_DEFAULTS.agree;
  const out: AggregatorConfig = { shared: kinds.shared, group: kinds.group, trim, bound, agree };
  const tensors = a["aggregator-tensors"];
  if (tensors !== undefined) {
    try {
      out.tensors = parseTensorRules(tensors);
    } catch (e) {
      throw new UsageError(`--aggregator-tensors: ${(e as Error).message} (give PATTERN=KIND,..., e.g. mlp.0=consensus)`);
    }
  }
  return out;
}

/** --lr-schedule, --lr-final, --lr-span: c.local.lrSchedule, absent when no schedule is given. */
function lrScheduleFromArgs(a: TrainArgs, c: TrainConfig): void {
  const kind = oneOf("lr-schedule", a["lr-schedule"], LR_SCHEDULES);
  const final = num("lr-final", a["lr-final"], (n) => n > 0 && n <= 1, "in (0, 1]");
  const span = int("lr-span", a["lr-span"], 1);
  if (kind === undefined || kind === "constant") {
    if (final !== undefined || span !== undefined) throw new UsageError(`--${final !== undefined ? "lr-final" : "lr-span"} needs --lr-schedule cosine or exp`);
    return;
  }
  // the span defaults to the planned rounds; it is then part of the settings, so a resumed run
  // given more rounds stays at the final multiplier past the first plan's end
  c.local.lrSchedule = { kind, final: final ?? 0.1, span: span ?? c.rounds };
}

/** --private-opt, --private-lr, --private-steps, --bias-init: c.local.private, absent when none is given. */
function privateOptions(a: TrainArgs, c: TrainConfig): void {
  const given = ["private-opt", "private-lr", "private-steps", "bias-init", "personal-prior", "personal-weight"] as const;
  if (given.every((k) => a[k] === undefined)) return;
  const p = { ...PRIVATE_DEFAULTS, ...c.local.private };
  p.optimizer = oneOf("private-opt", a["private-opt"], ["shared", "sgd", "adam"] as const) ?? p.optimizer;
  p.lr = num("private-lr", a["private-lr"], (n) => n > 0, "a positive number") ?? p.lr;
  p.extraSteps = int("private-steps", a["private-steps"], 0) ?? p.extraSteps;
  p.biasInit = oneOf("bias-init", a["bias-init"], ["zero", "click-rate"] as const) ?? p.biasInit;
  const prior = num("personal-prior", a["personal-prior"], (n) => n > 0, "a positive number");
  const weight = num("personal-weight", a["personal-weight"], (n) => n > 0, "a positive number");
  if ((prior !== undefined || weight !== undefined) && (!c.model.personalBias || p.biasInit !== "click-rate")) {
    throw new UsageError(`--${prior !== undefined ? "personal-prior" : "personal-weight"} needs --personal-bias and --bias-init click-rate`);
  }
  if (prior !== undefined) p.personalPrior = prior;
  if (weight !== undefined) p.personalWeight = weight;
  if (p.extraSteps > 0 && p.optimizer === "shared") throw new UsageError("--private-steps needs --private-opt sgd or adam (the private partition's own optimiser)");
  if (p.biasInit === "click-rate" && !c.model.userBias && !c.model.personalBias) throw new UsageError("--bias-init click-rate needs --user-bias or --personal-bias");
  c.local.private = p;
}
