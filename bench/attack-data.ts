// The attack bench's data: the target item category and a copy of the data set with fake
// (attacker-controlled) users appended, whose histories are fake clicks on the target items
// (FedRecAttack's setting, Rong et al. 2022: the attacker's clients are Sybil accounts it
// registers, not hijacked real users, so every real user's data and metrics stay the same).
import { readRawFolder, writeFolder } from "../src/data/folder.js";
import { ITEM_ID, LABEL, TIMESTAMP, USER_ID, type Dataset, type RawData } from "../src/data/dataset.js";
import { column, tableOf, type Table } from "../src/data/table.js";
import { Rng } from "../src/util/rng.js";

export interface Target {
  field: string;
  code: number;
  /** Item indices (Dataset numbering) of the category. */
  items: Int32Array;
  impressions: number;
}

/**
 * The target: in `field`, among the categories of `minItems`–`maxItems` catalogue items that were
 * shown, the one of median impression count (lowest code on ties): a middling category, whose
 * clean exposure is neither nil nor saturated, so that its growth can be measured as a ratio.
 */
export function pickTarget(ds: Dataset, field: string, minItems = 5, maxItems = 40): Target {
  const f = ds.itemFields.findIndex((x) => x.name === field);
  if (f < 0) throw new Error(`pickTarget: no item field '${field}' (fields: ${ds.itemFields.map((x) => x.name).join(", ")})`);
  const F = ds.itemFields.length;
  const shown = new Int32Array(ds.numItems + 1);
  for (const i of ds.seqItems) shown[i]++;
  const byCode = new Map<number, number[]>();
  for (let i = 1; i <= ds.numItems; i++) {
    const c = ds.itemFeatures[i * F + f]!;
    let list = byCode.get(c);
    if (!list) byCode.set(c, (list = []));
    list.push(i);
  }
  const eligible: Target[] = [];
  for (const [code, items] of [...byCode].sort((a, b) => a[0] - b[0])) {
    if (items.length < minItems || items.length > maxItems) continue;
    const impressions = items.reduce((s, i) => s + shown[i]!, 0);
    if (impressions > 0) eligible.push({ field, code, items: Int32Array.from(items), impressions });
  }
  // stable sort: ties keep the lower code first
  eligible.sort((x, y) => x.impressions - y.impressions);
  const best = eligible[(eligible.length - 1) >> 1];
  if (best === undefined) throw new Error(`pickTarget: no category of ${field} has ${minItems}–${maxItems} items that were shown`);
  return best;
}

/**
 * Clicks on the target's items in the data set (whole histories), and how many users clicked one:
 * how much honest evidence about the target there is beside the attackers'.
 */
export function targetClicks(ds: Dataset, target: Target): { clicks: number; users: number } {
  const isTarget = new Set(target.items);
  let clicks = 0;
  let users = 0;
  for (let u = 0; u < ds.numUsers; u++) {
    let own = 0;
    for (let j = ds.seqStart[u]!; j < ds.seqStart[u + 1]!; j++) if (ds.seqLabels[j] === 1 && isTarget.has(ds.seqItems[j]!)) own++;
    clicks += own;
    if (own > 0) users++;
  }
  return { clicks, users };
}

/** Fake histories: `length` impressions alternating a random item (not clicked) and a target (clicked). */
export interface FakeUsers {
  count: number;
  length: number;
  seed: number;
}

/**
 * Writes `dir`: the folder `src` with `fake.count` users appended (ids above every real id, so that
 * the dataset orders them after the real users), each with a real user's features.
 */
export function writePoisonedFolder(src: string, dir: string, ds: Dataset, target: Target, fake: FakeUsers): void {
  const raw = readRawFolder(src);
  const rng = new Rng(fake.seed);
  const userIds = column(raw.users, USER_ID).values;
  let maxId = 0;
  for (const id of userIds) maxId = Math.max(maxId, id);
  const inter: number[][] = raw.interactions.columns.map(() => []);
  const users: number[][] = raw.users.columns.map(() => []);
  const at = (t: Table, name: string) => t.columns.findIndex((c) => c.name === name);
  const time = Math.max(...column(raw.interactions, TIMESTAMP).values);
  for (let j = 0; j < fake.count; j++) {
    const id = maxId + 1 + j;
    const like = rng.int(raw.users.rows);
    raw.users.columns.forEach((c, k) => users[k]!.push(c.name === USER_ID ? id : c.values[like]!));
    for (let s = 0; s < fake.length; s++) {
      const clicked = s % 2 === 1;
      const item = clicked ? target.items[(s >> 1) % target.items.length]! : 1 + rng.int(ds.numItems);
      const row = new Array<number>(raw.interactions.columns.length);
      row[at(raw.interactions, USER_ID)] = id;
      row[at(raw.interactions, ITEM_ID)] = ds.itemIds[item - 1]!;
      row[at(raw.interactions, TIMESTAMP)] = time + s;
      row[at(raw.interactions, LABEL)] = clicked ? 1 : 0;
      row.forEach((v, k) => inter[k]!.push(v));
    }
  }
  const append = (t: Table, extra: number[][]) => tableOf(t.file, t.columns, t.columns.map((c, k) => [...c.values, ...extra[k]!]));
  const out: RawData = { ...raw, interactions: append(raw.interactions, inter), users: append(raw.users, users) };
  writeFolder(dir, out, "poisoned");
}
