// One training run on the planted-group synthetic set with settings given as JSON, printing the
// adjusted Rand index of each block's routes vs the planted groups and the test AUC (at the round
// of best validation AUC), for measuring the gate's options side by side.
//   node dist/bench/gate-options.js <regime mrff|fedsasrec> <rounds> '<json: {model?, local?, server?, data?}>'
import { generateSynthetic, type SyntheticOptions } from "../src/data/synthetic.js";
import { defaultConfig } from "../src/federated/config.js";
import { metricsOf } from "../src/federated/evaluate.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { adjustedRandIndex } from "../src/metrics/ari.js";
import { benchPositionals } from "./bench-args.js";

const { regime, rounds: roundsArg, json } = benchPositionals({ regime: "mrff", rounds: "30", json: "{}" });
const over = JSON.parse(json) as { model?: object; local?: object; server?: object; data?: Partial<SyntheticOptions> };
const data: Partial<SyntheticOptions> = { groupReveal: 1, groupStrength: 3, ...over.data };
const { truth } = generateSynthetic(data);
const c = defaultConfig(regime as "mrff" | "fedsasrec");
c.data = { kind: "synthetic", options: data };
c.model = { ...c.model, dropout: 0.1, ...over.model };
c.local = { ...c.local, ...over.local };
c.server = { ...c.server, ...over.server };
const rounds = Number(roundsArg);
const engine = await FederatedEngine.create(c, 2);
const L = c.model.blocks;
const users = truth.group.length;
const ari = (routes: Int32Array) =>
  Array.from({ length: L }, (_, l) => adjustedRandIndex(truth.group, Array.from({ length: users }, (_, u) => routes[u * L + l]!)).toFixed(3)).join(" ");
let best = { val: -1, test: 0, round: 0, ari: "" };
console.log(`round 0 ARI ${regime === "mrff" ? ari((await engine.evaluate(() => {})).routes) : "-"}`);
for (let r = 1; r <= rounds; r++) {
  await engine.trainRound(r, () => {});
  if (r <= 2 || r % 5 === 0 || r === rounds) {
    const p = await engine.evaluate(() => {});
    const m = metricsOf(p, engine.split);
    const a = regime === "mrff" ? ari(p.routes) : "-";
    if (m.val_auc > best.val) best = { val: m.val_auc, test: m.test_auc, round: r, ari: a };
    console.log(`round ${r} val ${m.val_auc.toFixed(3)} test ${m.test_auc.toFixed(3)} ARI ${a}`);
  }
}
console.log(`RESULT ${regime} ${json} best-val round ${best.round} test AUC ${best.test.toFixed(3)} ARI ${best.ari}`);
await engine.close();
