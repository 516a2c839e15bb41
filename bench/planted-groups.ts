// Does MRFF's gate find planted user groups, and does MRFF beat FedSASRec where groups matter?
// Trains both on a synthetic set whose click odds depend on a hidden group (src/data/synthetic.ts),
// and prints per evaluation: validation / test AUC and, for MRFF, the adjusted Rand index between
// each block's routes and the planted groups, next to its chance level (99th percentile of 200
// shuffles of the groups) and to the ceiling (the generator's own odds).
//   node dist/bench/planted-groups.js [rounds=60] [workers=2] [groupReveal=1]
import { generateSynthetic, type SyntheticOptions } from "../src/data/synthetic.js";
import { leaveOneOut } from "../src/data/split.js";
import { buildDataset } from "../src/data/dataset.js";
import { defaultConfig } from "../src/federated/config.js";
import type { Predictions } from "../src/federated/engine.js";
import { metricsOf } from "../src/federated/evaluate.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { adjustedRandIndex } from "../src/metrics/ari.js";
import { auc } from "../src/metrics/auc.js";
import { Rng } from "../src/util/rng.js";
import { benchPositionals } from "./bench-args.js";

const { rounds, workers, groupReveal: reveal } = benchPositionals({ rounds: 60, workers: 2, groupReveal: 1 });
const data: Partial<SyntheticOptions> = { groupReveal: reveal, groupStrength: 3 };
const { raw, truth } = generateSynthetic(data);
const split = leaveOneOut(buildDataset(raw));
const users = truth.group.length;
const ceiling = (f: (u: number, i: number) => number) =>
  auc(Float64Array.from({ length: users }, (_, u) => f(u, split.testItem[u]!)), split.testLabel).toFixed(3);
console.log(`synthetic ${JSON.stringify(data)}: ${users} users; test AUC of the true odds ${ceiling(truth.logit)}, without the group terms ${ceiling(truth.blindLogit)}`);

const rng = new Rng(1);
const shuffled = Array.from(truth.group);
const chance = Array.from({ length: 200 }, () => {
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return adjustedRandIndex(truth.group, shuffled);
}).sort((x, y) => x - y)[197]!;
console.log(`routes vs groups, chance level (99th percentile of shuffles): ARI ${chance.toFixed(3)}`);

function routeAri(p: Predictions, blocks: number): string {
  return Array.from({ length: blocks }, (_, l) => adjustedRandIndex(truth.group, Array.from({ length: users }, (_, u) => p.routes[u * blocks + l]!)).toFixed(3)).join(" ");
}

const variants: [string, "mrff" | "fedsasrec", boolean][] = [
  ["mrff", "mrff", false],
  ["mrff gate-weighted", "mrff", true],
  ["fedsasrec", "fedsasrec", false],
];
for (const [name, regime, gateWeighted] of variants) {
  const c = defaultConfig(regime);
  c.data = { kind: "synthetic", options: data };
  c.model = { ...c.model, clickInput: true, gateWeighted, dropout: 0.1 };
  const engine = await FederatedEngine.create(c, workers);
  const report = (round: number, p: Predictions) => {
    const m = metricsOf(p, engine.split);
    const routes = regime === "mrff" ? `  ARI per block ${routeAri(p, c.model.blocks)}` : "";
    console.log(`${name.padEnd(20)} round ${String(round).padStart(3)}  val AUC ${m.val_auc.toFixed(3)}  test AUC ${m.test_auc.toFixed(3)}${routes}`);
  };
  report(0, await engine.evaluate(() => {}));
  for (let r = 1; r <= rounds; r++) {
    await engine.trainRound(r, () => {});
    if (r % 10 === 0 || r === rounds) report(r, await engine.evaluate(() => {}));
  }
  await engine.close();
}
