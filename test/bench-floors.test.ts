// The experiment's floors and its table arithmetic on hand-made data whose answers are known.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { markdownTable, modelRows, type RunSummary } from "../bench/experiment-table.js";
import { logisticOnFields, userClickRate } from "../bench/floors.js";
import { metricsOf } from "../src/federated/evaluate.js";
import { buildDataset, featureColumns, INTERACTION_COLUMNS, ITEM_ID, leaveOneOut, tableOf, USER_ID } from "../src/data/index.js";

/** Rows of [user, item, click] in time order. Item g-field: items 0..2 are "clicky" (1), 3..5 not (2). */
function dataset(rows: [number, number, number][], users: number) {
  const userFields = { file: "u.txt", names: ["f"] };
  const itemFields = { file: "i.txt", names: ["g"] };
  const ids = Array.from({ length: users }, (_, u) => u);
  return buildDataset({
    interactions: tableOf("df.csv", INTERACTION_COLUMNS, [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((_, t) => t), rows.map((r) => r[2])]),
    users: tableOf("u.csv", featureColumns(USER_ID, userFields), [ids, ids.map((u) => u % 2)]),
    items: tableOf("i.csv", featureColumns(ITEM_ID, itemFields), [[0, 1, 2, 3, 4, 5], [1, 1, 1, 2, 2, 2]]),
    userFields,
    itemFields,
  });
}

test("user click rate: clicks before the target, shrunk by one pseudo-impression at the pooled training rate", () => {
  // user 0 trains on clicks 1,1,1,0, then valid 1, test 0; user 1 on 0,0, then valid 0, test 1
  const ds = dataset([[0, 0, 1], [0, 1, 1], [0, 2, 1], [0, 3, 0], [0, 4, 1], [0, 5, 0], [1, 0, 0], [1, 3, 0], [1, 1, 0], [1, 2, 1]], 2);
  const split = leaveOneOut(ds);
  const s = userClickRate(ds, split);
  const prior = 3 / 6; // 3 clicks in 6 training impressions
  assert.equal(Array.from(s.valid), [(3 + prior) / 5, (0 + prior) / 3]);
  // the test target's history adds the validation impression (user 0 clicked it, user 1 did not)
  const p = [(4 + prior) / 6, (0 + prior) / 4];
  assert.equal(Array.from(s.test), p);
  const m = metricsOf(s, split);
  // the higher-rate user clicks its validation item and skips its test item: AUC 1, then 0
  assert.is(m.val_auc, 1);
  assert.is(m.test_auc, 0);
  assert.ok(Math.abs(m.test_logloss - -(Math.log(1 - p[0]) + Math.log(p[1])) / 2) < 1e-12);
});

test("logistic regression on the fields learns an item field that decides the click", () => {
  // 8 users, each shown every item twice in a fixed order; click iff the item's g-field is 1.
  const rows: [number, number, number][] = [];
  for (let u = 0; u < 8; u++) for (let k = 0; k < 12; k++) rows.push([u, (k * 5 + u) % 6, (k * 5 + u) % 6 < 3 ? 1 : 0]);
  const ds = dataset(rows, 8);
  const split = leaveOneOut(ds);
  for (const userBias of [false, true]) {
    const m = metricsOf(logisticOnFields(ds, split, { userBias, epochs: 5, lr: 0.5 }), split);
    assert.is(m.val_auc, 1, `userBias ${userBias}`);
    assert.is(m.test_auc, 1, `userBias ${userBias}`);
    assert.ok(m.test_logloss < 0.3, `userBias ${userBias}: LogLoss ${m.test_logloss}`);
  }
  assert.equal(logisticOnFields(ds, split, { seed: 4 }), logisticOnFields(ds, split, { seed: 4 }), "same seed, same scores");
});

test("model rows pool seeds: mean, sample sd, averaged interval, highest peak", () => {
  const run = (seed: number, auc: number, rss: number): RunSummary => ({
    model: "mrff",
    seed,
    rounds: 3,
    best_round: seed,
    val_auc: 0.7,
    test_auc: auc,
    test_auc_ci: [auc - 0.02, auc + 0.02],
    test_logloss: 0.6,
    seconds_per_round: 2,
    peak_rss_mb: rss,
    wall_seconds: 6,
  });
  const [row] = modelRows([run(1, 0.7, 200), run(2, 0.74, 250)]);
  assert.is(row.test_auc_mean, 0.72);
  assert.ok(Math.abs(row.test_auc_sd! - Math.sqrt(0.0008)) < 1e-12);
  assert.ok(Math.abs(row.test_auc_ci[0] - 0.7) < 1e-12 && Math.abs(row.test_auc_ci[1] - 0.74) < 1e-12);
  assert.is(row.peak_rss_mb, 250);
  assert.equal(row.best_rounds, [1, 2]);
  assert.match(markdownTable([row]), /\| mrff \| 1,2 \| 0\.700 \| 0\.720 ± 0\.028 \| 0\.700–0\.740 \| 0\.600 \| 2\.00 \| 250 \| 1,2 \|/);
});

test.run();
