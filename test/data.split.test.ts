// The dataset's sequences, the leave-one-out split and the model windows, checked against a plain
// re-statement of METHOD.md on random tables: per user, impressions in a stable sort by timestamp,
// last = test, second-last = validation, windows = the last maxlen inputs before a target, left-padded.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  allocWindows,
  buildDataset,
  featureColumns,
  fillPhaseWindow,
  INTERACTION_COLUMNS,
  ITEM_ID,
  leaveOneOut,
  MIN_INTERACTIONS,
  tableOf,
  USER_ID,
  type Dataset,
  type Phase,
  type RawData,
} from "../src/data/index.js";

interface Row {
  user: number;
  item: number;
  time: number;
  click: number;
}

/** Random interactions over raw user ids 0..7 and item ids 0..5, with few distinct times (many ties). */
const rowsArb = fc.array(
  fc.record({ user: fc.integer({ min: 0, max: 7 }), item: fc.integer({ min: 0, max: 5 }), time: fc.integer({ min: 0, max: 4 }), click: fc.integer({ min: 0, max: 1 }) }),
  { maxLength: 60 },
);
/** Tables in which some user has enough impressions to build a dataset. */
const usableArb = rowsArb.filter((rows) => [...expectedSequences(rows).values()].some((s) => s.length >= MIN_INTERACTIONS));

function rawOf(rows: Row[]): RawData {
  const userFields = { file: "u.txt", names: ["f"] };
  const itemFields = { file: "i.txt", names: ["g"] };
  return {
    interactions: tableOf("df.csv", INTERACTION_COLUMNS, [rows.map((r) => r.user), rows.map((r) => r.item), rows.map((r) => r.time * 1000.5), rows.map((r) => r.click)]),
    users: tableOf("u.csv", featureColumns(USER_ID, userFields), [[0, 1, 2, 3, 4, 5, 6, 7], [1, 1, 2, 2, 3, 3, 4, 4]]),
    items: tableOf("i.csv", featureColumns(ITEM_ID, itemFields), [[5, 4, 3, 2, 1, 0], [9, 8, 9, 8, 9, 8]]),
    userFields,
    itemFields,
  };
}

/** METHOD.md, literally: each user's rows, stably sorted by time (Array.prototype.sort is stable). */
function expectedSequences(rows: Row[]): Map<number, Row[]> {
  const byUser = new Map<number, Row[]>();
  for (const r of rows) byUser.set(r.user, [...(byUser.get(r.user) ?? []), r]);
  for (const seq of byUser.values()) seq.sort((a, b) => a.time - b.time);
  return byUser;
}

function userSequence(ds: Dataset, u: number): { items: number[]; labels: number[] } {
  const s = ds.seqStart[u];
  const e = ds.seqStart[u + 1];
  return { items: Array.from(ds.seqItems.subarray(s, e)), labels: Array.from(ds.seqLabels.subarray(s, e)) };
}

test("sequences are each user's rows in a stable time sort; short users are left out and counted", () => {
  fc.assert(
    fc.property(rowsArb, (rows) => {
      const want = expectedSequences(rows);
      const kept = [...want.keys()].filter((u) => want.get(u)!.length >= MIN_INTERACTIONS).sort((a, b) => a - b);
      if (kept.length === 0) return assert.throws(() => buildDataset(rawOf(rows)), /df\.csv: no user has 3 or more impressions/);
      const ds = buildDataset(rawOf(rows));
      assert.equal(Array.from(ds.userIds), kept);
      const short = [...want.values()].filter((s) => s.length < MIN_INTERACTIONS);
      assert.equal(ds.report, {
        rows: rows.length,
        shortUsers: short.length,
        shortUserRows: short.reduce((n, s) => n + s.length, 0),
        idleUsers: 8 - want.size,
        idleItems: 6 - new Set(kept.flatMap((u) => want.get(u)!.map((r) => r.item))).size,
      });
      kept.forEach((raw, u) => {
        const seq = want.get(raw)!;
        assert.equal(userSequence(ds, u), { items: seq.map((r) => r.item + 1), labels: seq.map((r) => r.click) });
      });
    }),
    { numRuns: 300, seed: 11 },
  );
});

test("leave-one-out: last = test, second-last = validation, the rest = train", () => {
  fc.assert(
    fc.property(usableArb, (rows) => {
      const ds = buildDataset(rawOf(rows));
      const split = leaveOneOut(ds);
      for (let u = 0; u < ds.numUsers; u++) {
        const { items, labels } = userSequence(ds, u);
        const n = items.length;
        assert.is(split.trainLength[u], n - 2);
        assert.equal([split.validItem[u], split.validLabel[u]], [items[n - 2], labels[n - 2]]);
        assert.equal([split.testItem[u], split.testLabel[u]], [items[n - 1], labels[n - 1]]);
      }
    }),
    { numRuns: 200, seed: 12 },
  );
});

/** A window by the definition: inputs before the target, the last maxlen of them, left-padded. */
function expectedWindow(items: number[], labels: number[], last: number, T: number, weighAll: boolean) {
  const from = Math.max(0, last - T);
  const pad = T - (last - from);
  const w = { items: [] as number[], clicks: [] as number[], mask: [] as number[], targets: [] as number[], labels: [] as number[], weights: [] as number[] };
  for (let s = 0; s < T; s++) {
    const p = from + s - pad;
    const real = s >= pad;
    w.items.push(real ? items[p] : 0);
    w.clicks.push(real ? labels[p] : 0);
    w.mask.push(real ? 1 : 0);
    w.targets.push(real ? items[p + 1] : 0);
    w.labels.push(real ? labels[p + 1] : 0);
    w.weights.push(real && (weighAll || p + 1 === last) ? 1 : 0);
  }
  return w;
}

test("windows: left-padded, slot t predicts its successor; training counts every slot, evaluation only the target", () => {
  fc.assert(
    fc.property(usableArb, fc.integer({ min: 1, max: 12 }), (rows, T) => {
      const ds = buildDataset(rawOf(rows));
      const split = leaveOneOut(ds);
      // Rows are filled over stale contents on purpose: each fill must clear its whole row.
      const w = allocWindows(2, T);
      for (const a of [w.items, w.targets]) a.fill(-7);
      for (const a of [w.clicks, w.mask, w.labels, w.weights]) a.fill(0.5);
      const lastOf: Record<Phase, number> = { train: -1, valid: 0, test: 1 };
      for (let u = 0; u < ds.numUsers; u++) {
        const { items, labels } = userSequence(ds, u);
        for (const phase of ["train", "valid", "test"] as Phase[]) {
          const row = (u + lastOf[phase] + 2) % 2;
          fillPhaseWindow(ds, split, u, phase, w, row);
          const want = expectedWindow(items, labels, split.trainLength[u] + lastOf[phase], T, phase === "train");
          const got = Object.fromEntries(Object.entries(want).map(([k]) => [k, Array.from(w[k as keyof typeof want].subarray(row * T, row * T + T))]));
          assert.equal(got, want, `user ${u} ${phase}`);
        }
      }
    }),
    { numRuns: 200, seed: 13 },
  );
});

test("windows: bad rows and positions are refused", () => {
  const ds = buildDataset(rawOf([0, 1, 2].map((t) => ({ user: 0, item: t, time: t, click: 1 }))));
  const split = leaveOneOut(ds);
  assert.throws(() => fillPhaseWindow(ds, split, 0, "test", allocWindows(1, 4), 1), /row 1 outside a batch of 1/);
  assert.throws(() => allocWindows(0, 4), /positive integers/);
  // A user with exactly 3 impressions trains on one item, which has no successor inside the train part.
  const w = allocWindows(1, 4);
  fillPhaseWindow(ds, split, 0, "train", w, 0);
  assert.equal(Array.from(w.mask), [0, 0, 0, 0]);
  fillPhaseWindow(ds, split, 0, "valid", w, 0);
  assert.equal([Array.from(w.items), Array.from(w.targets), Array.from(w.weights)], [[0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 1]]);
});

test.run();
