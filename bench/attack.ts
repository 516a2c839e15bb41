// Poisoning attacks against the federated rounds, and what each aggregation rule does about them
// (issue 5). A fraction of the participants are attacker clients (fake users appended to the data,
// attack-data.ts); the coordinator's onDeltas hook stands for their devices and replaces what
// they send:
// - data (data poisoning only): the client trains honestly on its fake clicks and sends what it
//   trained, as a real user's device would (the same as boost with --boost 1);
// - boost (model poisoning in the style of FedRecAttack, Rong et al. 2022): the client trains
//   honestly on its fake clicks on the target category, and its delta is scaled by --boost;
// - noise: a random update, every coordinate N(0, --noise-std²).
// Every (model, attack, fraction, defence) trains from scratch in this process and reports, over
// the real users only: test AUC at the best-validation round (METHOD.md's protocol) and after the
// last round, and the target's exposure (exposure.ts) for both models.
// --models: mrff (federated) and/or central (one model trained on the pooled data, `--model central`:
// the fake users are ordinary users of the pool; it runs clean and under the data attack only, with
// no aggregation rule, and its "rounds" are epochs). It tells what a learner faithful to the
// poisoned data does, whatever the aggregation.
//
//   node dist/bench/attack.js [--data DIR] [--models mrff,central] [--rounds N] [--workers W] [--fractions 0.01,0.05,0.1]
//        [--attacks data,boost,noise] [--defences mean,median,trimmed,normbound,foolsgold,rlr,consensus] [--agree F] [--trim β] [--boost X]
//        [--noise-std S] [--seed N] [--train-args "OPTIONS"] [--out FILE.md]
// A defence KIND applies to the shared and the group partition; KIND@P+Q only to the shared
// tensors P and Q (aggregator.tensors patterns, e.g. consensus@mlp.0), with the mean elsewhere, or
// with BASE elsewhere given as BASE:KIND@P+Q (e.g. normbound:consensus@mlp).
// --seed: the training seed, attackers' histories and noise; the exposure's candidate items stay
// those of seed 1, so that every seed measures the same thing.
// --train-args: further `fedfacet train` options for every run of every model (client optimiser,
// server optimiser, local steps, preset...), parsed as the CLI does over the model's defaults; the
// bench sets data, model, rounds, seed and the aggregator.
// Rows already in FILE.json are reused when the protocol matches (same rounds, seed, boost, noise,
// θ, β and training options), so one file can gather several invocations.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { INTERACTIONS_FILE, readFolder } from "../src/data/folder.js";
import type { LeaveOneOut } from "../src/data/split.js";
import { CentralEngine } from "../src/federated/central-engine.js";
import type { TrainConfig } from "../src/federated/config.js";
import type { Engine, Predictions } from "../src/federated/engine.js";
import { metricsOf } from "../src/federated/evaluate.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import type { DeltaChunk } from "../src/federated/robust/client-deltas.js";
import { AGGREGATOR_DEFAULTS, parseTensorRules, RULE_KINDS, type AggregatorConfig, type RuleKind } from "../src/federated/robust/rules.js";
import { deriveSeed } from "../src/federated/seed.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { Rng } from "../src/util/rng.js";
import { pickTarget, targetClicks, writePoisonedFolder } from "./attack-data.js";
import { candidateSet, exposure, modelValues, TOP, type ModelValues } from "./exposure.js";
import { configFromText } from "./train-args.js";
import { benchArgs, KUAISAR_DEFAULT } from "./bench-args.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ATTACKS = ["none", "data", "boost", "noise"] as const;
type Attack = (typeof ATTACKS)[number];
const MODELS = ["mrff", "central"] as const;
type Model = (typeof MODELS)[number];
/** How the report describes each model's runs. */
const ABOUT: Record<Model, { what: string; defaults: string }> = {
  mrff: { what: "mrff: federated, every client every round", defaults: "mrff: one local step of a fresh Adam, lr 0.1; FedAvg" },
  central: { what: "central: one model trained on the pooled data, a round is an epoch", defaults: "central: minibatch Adam, lr 0.001" },
};
/** What central training can be run against: there are no client updates to replace. */
const CENTRAL_ATTACKS: readonly Attack[] = ["none", "data"];
const TARGET_FIELD = "second_level_category_name";
const CANDIDATES = 100;
const FAKE_LENGTH = 30;
const CANDIDATE_SEED = 1;

const a = benchArgs({
  data: { type: "string", default: KUAISAR_DEFAULT },
  models: { type: "string", default: "mrff" },
  rounds: { type: "string", default: "10" },
  workers: { type: "string", default: "2" },
  fractions: { type: "string", default: "0.05,0.01,0.1" },
  attacks: { type: "string", default: "boost,noise" },
  defences: { type: "string", default: RULE_KINDS.join(",") },
  boost: { type: "string", default: "10" },
  "noise-std": { type: "string", default: "10" },
  agree: { type: "string", default: String(AGGREGATOR_DEFAULTS.agree) },
  trim: { type: "string", default: String(AGGREGATOR_DEFAULTS.trim) },
  seed: { type: "string", default: "1" },
  "train-args": { type: "string", default: "" },
  out: { type: "string", default: join(ROOT, "out/attack/attack.md") },
});

function fail(msg: string): never {
  console.error(`attack: ${msg}`);
  process.exit(2);
}
function numbers(name: string, text: string, ok: (n: number) => boolean): number[] {
  const v = text.split(",").map(Number);
  if (!v.every(ok)) fail(`--${name}: '${text}' has a value out of range`);
  return v;
}

const data = resolve(a.data!);
if (!existsSync(join(data, INTERACTIONS_FILE))) fail(`no KuaiSAR-style data set at '${data}'`);
const [rounds] = numbers("rounds", a.rounds!, (n) => Number.isInteger(n) && n >= 1);
const [workers] = numbers("workers", a.workers!, (n) => Number.isInteger(n) && n >= 0);
const fractions = numbers("fractions", a.fractions!, (n) => n > 0 && n < 0.5);
const [boost] = numbers("boost", a.boost!, (n) => n > 0);
const [noiseStd] = numbers("noise-std", a["noise-std"]!, (n) => n > 0);
const [agree] = numbers("agree", a.agree!, (n) => n > 0 && n <= 1);
const [trim] = numbers("trim", a.trim!, (n) => n >= 0 && n < 0.5);
const [SEED] = numbers("seed", a.seed!, (n) => Number.isInteger(n) && n >= 0) as [number];
const attacks = a.attacks!.split(",") as Attack[];
for (const x of attacks) if (x === "none" || !ATTACKS.includes(x)) fail(`--attacks: '${x}' is not data, boost or noise`);
const models = a.models!.split(",") as Model[];
for (const m of models) if (!MODELS.includes(m)) fail(`--models: '${m}' is not one of ${MODELS.join(", ")}`);
const defences = a.defences!.split(",");
for (const d of defences) {
  try {
    aggregatorOf(d);
  } catch (e) {
    fail(`--defences: '${d}': ${(e as Error).message} (give KIND, KIND@PATTERN+PATTERN or BASE:KIND@PATTERN+PATTERN)`);
  }
}

/** The aggregator a defence spec stands for: KIND on both partitions, or [BASE:]KIND@P+Q on those shared tensors only (BASE, default mean, elsewhere). */
function aggregatorOf(spec: string): AggregatorConfig {
  const [head, patterns] = spec.split("@") as [string, string | undefined];
  const [base, kind] = (head.includes(":") && patterns !== undefined ? head.split(":") : ["mean", head]) as [RuleKind, RuleKind];
  for (const k of [base, kind]) if (!RULE_KINDS.includes(k)) throw new RangeError(`'${k}' is not one of ${RULE_KINDS.join(", ")}`);
  const common = { trim: trim!, bound: "median" as const, agree: agree! };
  if (patterns === undefined) return { shared: kind, group: kind, ...common };
  return { shared: base, group: base, ...common, tensors: parseTensorRules(patterns.split("+").map((p) => `${p}=${kind}`).join(",")) };
}
const trainArgs = a["train-args"]!.trim();
// the options this bench decides for every run, or that do not combine with per-client deltas
const DECIDED = ["data", "model", "rounds", "seed", "workers", "out", "resume", "force", "aggregator", "aggregator-tensors", "trim", "norm-bound", "agree", "bootstrap", "dp-epsilon", "compression"];
const bases = new Map<Model, TrainConfig>();
for (const m of models) {
  try {
    bases.set(m, configFromText(trainArgs, DECIDED, { model: m }));
  } catch (e) {
    fail(`--train-args${models.length > 1 ? ` (model ${m})` : ""}: ${(e as Error).message}`);
  }
}
const mdPath = resolve(a.out!);
const jsonPath = mdPath.replace(/\.md$/, "") + ".json";

const real = readFolder(data);
const N = real.numUsers;
const target = pickTarget(real, TARGET_FIELD);
const realClicks = targetClicks(real, target);
const candidates = candidateSet(real, target.items, CANDIDATES, CANDIDATE_SEED);
const be = await loadWasmBackend();

interface Row {
  /** Absent in files from before --models: mrff. */
  model?: Model;
  attack: Attack;
  fraction: number;
  attackers: number;
  defence: string;
  best_round: number;
  test_auc_best: number;
  exposure_best: number;
  test_auc_last: number;
  exposure_last: number;
  seconds: number;
}

/** A copy of predictions and labels restricted to the real users (the fake ones come after them). */
function realMetrics(p: Predictions, split: LeaveOneOut) {
  const sub = { ...split, validLabel: split.validLabel.subarray(0, N), testLabel: split.testLabel.subarray(0, N) };
  return metricsOf({ valid: p.valid.subarray(0, N), test: p.test.subarray(0, N) }, sub);
}

/** What the attacker's devices send instead of their honest rows. */
function attackerHook(attack: Attack, rowLength: () => number): (d: DeltaChunk) => void {
  return (d) => {
    const R = rowLength();
    d.clients.forEach((id, i) => {
      if (id < N || attack === "none" || attack === "data") return;
      const row = d.deltas.subarray(i * R, (i + 1) * R);
      if (attack === "boost") {
        for (let j = 0; j < R; j++) row[j] = row[j]! * boost;
      } else {
        // a fresh draw per (client, round): the hook sees each client once per round
        const rng = new Rng(deriveSeed(SEED, 77, id, calls.get(id) ?? 0));
        calls.set(id, (calls.get(id) ?? 0) + 1);
        for (let j = 0; j < R; j++) row[j] = rng.normal() * noiseStd;
      }
    });
  };
}
const calls = new Map<number, number>();

async function runOne(model: Model, attack: Attack, fraction: number, defence: string): Promise<Row> {
  const attackers = attack === "none" ? 0 : Math.round((fraction * N) / (1 - fraction));
  let dir: string | null = null;
  const c: TrainConfig = structuredClone(bases.get(model)!);
  c.rounds = rounds;
  c.seed = SEED;
  c.bootstrap = 1;
  c.aggregator = aggregatorOf(defence);
  c.data = { kind: "folder", dir: data };
  if (attackers > 0) {
    dir = join(mkdtempSync(join(tmpdir(), "fedfacet-attack-")), "data");
    writePoisonedFolder(data, dir, real, target, { count: attackers, length: FAKE_LENGTH, seed: deriveSeed(SEED, 78, attackers) });
    c.data = { kind: "folder", dir };
  }
  calls.clear();
  const started = performance.now();
  let rowLength = 0;
  const engine: Engine = model === "central" ? await CentralEngine.create(c) : await FederatedEngine.create(c, workers!, { onDeltas: attackerHook(attack, () => rowLength) });
  try {
    if (engine.ds.numUsers !== N + attackers) throw new Error(`poisoned data has ${engine.ds.numUsers} users, expected ${N} + ${attackers}`);
    // each row: shared values, then one expert per block (robust/client-deltas.ts RowLayout)
    rowLength = engine.params.shared + engine.params.group / c.model.groups;
    let best = { round: 0, val: -Infinity, test: NaN, values: null as ModelValues | null };
    let last = NaN;
    for (let r = 1; r <= rounds!; r++) {
      await engine.trainRound(r, () => {});
      const m = realMetrics(await engine.evaluate(() => {}), engine.split);
      last = m.test_auc;
      console.error(`  round ${r}: val ${m.val_auc.toFixed(4)} test ${m.test_auc.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      if (m.val_auc > best.val) best = { round: r, val: m.val_auc, test: m.test_auc, values: modelValues(engine) };
    }
    const exBest = await exposure(be, c.model, real, best.values!, N, candidates, target.items.length);
    const exLast = best.round === rounds ? exBest : await exposure(be, c.model, real, modelValues(engine), N, candidates, target.items.length);
    console.error(`  exposure ${exBest.toFixed(3)} (best round ${best.round}), ${exLast.toFixed(3)} (last) (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    return { model, attack, fraction: attackers > 0 ? fraction : 0, attackers, defence, best_round: best.round, test_auc_best: best.test, exposure_best: exBest, test_auc_last: last, exposure_last: exLast, seconds: (performance.now() - started) / 1000 };
  } finally {
    await engine.close();
    if (dir) rmSync(dirname(dir), { recursive: true, force: true });
  }
}

const started = new Date();
mkdirSync(dirname(mdPath), { recursive: true });
const previous = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, "utf8")) as { protocol: Record<string, unknown>; rows: Row[] }) : null;
// rows are reused only from runs with the same protocol (files from before an option have its default)
const settings: Record<string, unknown> = { data, rounds, seed: SEED, boost, noise_std: noiseStd, agree, trim, train_args: trainArgs };
const before: Record<string, unknown> = { seed: 1, trim: AGGREGATOR_DEFAULTS.trim, train_args: "" };
for (const [k, v] of Object.entries(settings)) {
  const was = previous ? (previous.protocol[k] ?? before[k]) : v;
  if (was !== v) fail(`${jsonPath} holds runs with ${k} '${String(was)}', not '${String(v)}': give another --out`);
}
const rows: Row[] = previous?.rows ?? [];
const modelOf = (r: Row): Model => r.model ?? "mrff";
const done = (m: Model, x: Attack, f: number, d: string) => rows.some((r) => modelOf(r) === m && r.attack === x && r.defence === d && (x === "none" || r.fraction === f));
const plan: [Model, Attack, number, string][] = [];
for (const m of models) {
  // central aggregates nothing: it runs once per attack, with the mean
  const ds = m === "central" ? ["mean"] : defences;
  const xs = m === "central" ? attacks.filter((x) => CENTRAL_ATTACKS.includes(x)) : attacks;
  for (const d of ds) plan.push([m, "none", 0, d]);
  for (const f of fractions) for (const x of xs) for (const d of ds) plan.push([m, x, f, d]);
}
for (const [m, x, f, d] of plan) {
  if (done(m, x, f, d)) continue;
  console.error(`\n== model ${m}, attack ${x}, fraction ${f}, defence ${d}`);
  rows.push(await runOne(m, x, f, d));
  write();
}

function write(): void {
  const protocol = {
    data,
    rounds,
    workers,
    seed: SEED,
    target: { field: target.field, code: target.code, items: target.items.length, impressions: target.impressions, real_clicks: realClicks.clicks, real_clickers: realClicks.users },
    candidates: CANDIDATES,
    boost,
    noise_std: noiseStd,
    agree,
    trim,
    train_args: trainArgs,
    fake_history: FAKE_LENGTH,
    cpus: cpus().length,
    node: process.version,
    started: started.toISOString(),
    updated: new Date().toISOString(),
    // an argument holding spaces (--train-args) is quoted so that the command can be pasted
    command: `node dist/bench/attack.js ${process.argv.slice(2).map((x) => (/\s/.test(x) ? `"${x}"` : x)).join(" ")}`.trim(),
  };
  writeFileAtomic(jsonPath, JSON.stringify({ protocol, rows }, null, 2) + "\n");
  const cleanOf = (m: Model, d: string) => rows.find((r) => modelOf(r) === m && r.attack === "none" && r.defence === d);
  const f3 = (x: number) => x.toFixed(3);
  const ratio = (x: number, of: Row | undefined) => (of && of.exposure_best > 0 ? (x / of.exposure_best).toFixed(2) : "–");
  const lines = rows.map((r) => {
    const m = modelOf(r);
    const clean = cleanOf(m, "mean");
    const dAuc = clean ? f3(r.test_auc_best - clean.test_auc_best) : "–";
    const who = r.attack === "none" ? "0" : `${r.fraction * 100}% (${r.attackers})`;
    return `| ${m} | ${r.attack} | ${who} | ${m === "central" ? "–" : r.defence} | ${f3(r.test_auc_best)} | ${dAuc} | ${f3(r.exposure_best)} | ${ratio(r.exposure_best, clean)} | ${ratio(r.exposure_best, cleanOf(m, r.defence))} | ${r.best_round} | ${f3(r.test_auc_last)} | ${f3(r.exposure_last)} | ${Math.round(r.seconds)} |`;
  });
  const md = `# Poisoning attacks and robust aggregation on ${data}

${models.map((m) => ABOUT[m].what).join("; ")}; ${rounds} rounds, seed ${SEED}, ${workers} workers on ${protocol.cpus} cores (node ${protocol.node}).
Training options: ${trainArgs === "" ? `the defaults (${models.map((m) => ABOUT[m].defaults).join("; ")})` : `\`${trainArgs}\``}.
Target: the category ${TARGET_FIELD} = ${target.code} (${target.items.length} items, ${target.impressions} impressions in the data: of the
categories of 5–40 items, the one of median impression count; ${realClicks.clicks} clicks by ${realClicks.users} real users). Attackers are fake users appended to the real ${N} (fraction = attackers / all
participants), each with ${FAKE_LENGTH} fake impressions alternating a random item (no click) and a target item (click);
data: honest training on them (central: the fake users are ordinary users of the pool); boost: the same, delta × ${boost}; noise: every coordinate N(0, ${noiseStd}²). A defence KIND applies to both the shared and the group
partition, [BASE:]KIND@P+Q only to the shared tensors P and Q (and P.*), BASE (default the mean) elsewhere (trimmed: β = ${trim}; normbound, foolsgold, rlr, consensus: the median client norm of the round; rlr, consensus: θ = ⌈${agree}·clients⌉).
AUC: test AUC over the real users at the round of best validation AUC (METHOD.md), Δ against the same model's clean run with the mean;
"last": after the final round. Exposure: fraction of real users whose top ${TOP} among the ${target.items.length} targets + ${CANDIDATES} fixed random
catalogue items (drawn with seed ${CANDIDATE_SEED}; scored on-device after the whole history; ties count against the targets) holds a target, at the
best-validation round; × clean: against the same model's clean run with the mean, and with the same defence.

| model | attack | attackers | defence | test AUC | Δ AUC | exposure | × clean mean | × clean same defence | best round | AUC last | exposure last | seconds |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${lines.join("\n")}

Command: \`${protocol.command}\`
`;
  writeFileAtomic(mdPath, md);
}
console.error(`\nwrote ${mdPath}`);
