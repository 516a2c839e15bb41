// A synthetic KuaiSAR-style data set with a planted structure, the embedded default data so that
// training runs on a fresh machine. Users fall into a few latent groups; a click's log-odds are
//   propensity(user) + Σ_f popularity[f][value] + Σ_f preference[group][f][value]
// over the shown item's fields. Preferences are centred across groups for every (field, value), so a
// model blind to the groups can learn the propensities and the popularity terms but none of the
// preferences: only one that recovers a user's group (from its history, or from user field 0, which
// shows the group with probability `groupReveal`) can. Histories have runs of equal timestamps, as the
// real data has, so the stable time sort matters.
import { Rng } from "../util/rng.js";
import { buildDataset, INTERACTION_COLUMNS, ITEM_ID, MIN_INTERACTIONS, USER_ID, type Dataset, type RawData } from "./dataset.js";
import { tableOf, type ColumnSpec } from "./table.js";

export interface SyntheticOptions {
  seed: number;
  users: number;
  items: number;
  /** Number of latent user groups. */
  groups: number;
  /** Distinct values of each user field; field 0 carries the group signal. */
  userFieldSizes: number[];
  /** Distinct values of each item field. */
  itemFieldSizes: number[];
  /** Impressions per user, drawn log-uniformly from [minHistory, maxHistory]. */
  minHistory: number;
  maxHistory: number;
  /** Standard deviation (log-odds) of the summed group preference of an item. */
  groupStrength: number;
  /** Standard deviation (log-odds) of a user's click propensity. */
  propensity: number;
  /** Standard deviation (log-odds) of the summed group-independent appeal of an item. */
  popularity: number;
  /** Probability that user field 0 shows the user's group rather than a random value. */
  groupReveal: number;
  /** Probability that an impression shares the previous one's timestamp. */
  tieRate: number;
}

/** Shapes like KuaiSAR-R (4 user fields, 6 item fields), small enough to train in seconds. */
export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = {
  seed: 1,
  users: 600,
  items: 3000,
  groups: 4,
  userFieldSizes: [8, 3, 7, 4],
  itemFieldSizes: [2, 22, 37, 60, 80, 40],
  minHistory: 10,
  maxHistory: 120,
  groupStrength: 1.5,
  propensity: 0.7,
  popularity: 0.5,
  groupReveal: 0.75,
  tieRate: 0.3,
};

/** The generating truth, for tests that check the structure is there and learnable. */
export interface PlantedStructure {
  /** Group of each user, by dataset user index (= raw user id: every user is kept). */
  group: Int32Array;
  /** True click log-odds of dataset item index i (≥ 1) shown to user u. */
  logit(u: number, i: number): number;
  /** The same without the group preferences: the best a group-blind model can know. */
  blindLogit(u: number, i: number): number;
}

const START_MS = 1_685_000_000_000;
const SPREAD_MS = 30 * 24 * 3600 * 1000;
const MAX_GAP_MS = 300_000;
/** A feature-table column that no field list names, so that readers must ignore it. */
const UNLISTED_COLUMN = "duration_ms";

/** The raw tables (as a folder would hold them) and the truth behind them. */
export function generateSynthetic(options: Partial<SyntheticOptions> = {}): { raw: RawData; truth: PlantedStructure } {
  const o: SyntheticOptions = { ...SYNTHETIC_DEFAULTS, ...options };
  checkOptions(o);
  const rng = new Rng(o.seed);
  const U = o.userFieldSizes.length;
  const F = o.itemFieldSizes.length;

  const group = Int32Array.from({ length: o.users }, () => rng.int(o.groups));
  const userValues = new Float64Array(o.users * U);
  for (let u = 0; u < o.users; u++) {
    for (let f = 0; f < U; f++) {
      const size = o.userFieldSizes[f];
      userValues[u * U + f] = f === 0 && rng.next() < o.groupReveal ? group[u] % size : rng.int(size);
    }
  }
  const itemValues = new Float64Array(o.items * F);
  for (let i = 0; i < itemValues.length; i++) itemValues[i] = rng.int(o.itemFieldSizes[i % F]);

  const propensity = Float64Array.from({ length: o.users }, () => o.propensity * rng.normal());
  // Per-field scales make the sums over F fields have the stated standard deviations.
  const popularity = o.itemFieldSizes.map((size) => Float64Array.from({ length: size }, () => (o.popularity / Math.sqrt(F)) * rng.normal()));
  const preference = centredPreferences(o, rng);
  const blindLogit = (u: number, i: number): number => {
    let z = propensity[u];
    for (let f = 0; f < F; f++) z += popularity[f][itemValues[(i - 1) * F + f]];
    return z;
  };
  const logit = (u: number, i: number): number => {
    let z = blindLogit(u, i);
    for (let f = 0; f < F; f++) z += preference[group[u]][f][itemValues[(i - 1) * F + f]];
    return z;
  };

  const rowUser: number[] = [];
  const rowItem: number[] = [];
  const rowTime: number[] = [];
  const rowLabel: number[] = [];
  const logMin = Math.log(o.minHistory);
  const logMax = Math.log(o.maxHistory + 1);
  for (let u = 0; u < o.users; u++) {
    const n = Math.min(o.maxHistory, Math.floor(Math.exp(rng.uniform(logMin, logMax))));
    let t = START_MS + rng.int(SPREAD_MS);
    for (let k = 0; k < n; k++) {
      if (k > 0 && rng.next() >= o.tieRate) t += 1 + rng.int(MAX_GAP_MS);
      const item = 1 + rng.int(o.items);
      rowUser.push(u);
      rowItem.push(item - 1);
      rowTime.push(t);
      rowLabel.push(rng.next() < 1 / (1 + Math.exp(-logit(u, item))) ? 1 : 0);
    }
  }

  // Feature rows in shuffled order, so that readers cannot rely on rows sorted by id.
  const userOrder = shuffled(o.users, rng);
  const itemOrder = shuffled(o.items, rng);
  const userFields = o.userFieldSizes.map((_, f) => `user_field_${f + 1}`);
  const itemFields = o.itemFieldSizes.map((_, f) => `item_field_${f + 1}`);
  const raw: RawData = {
    interactions: tableOf("synthetic/df.csv", INTERACTION_COLUMNS, [rowUser, rowItem, rowTime, rowLabel]),
    users: tableOf(
      "synthetic/user_features.csv",
      [USER_ID, ...userFields].map(intColumn),
      [Array.from(userOrder), ...userFields.map((_, f) => Array.from(userOrder, (u) => userValues[u * U + f]))],
    ),
    items: tableOf(
      "synthetic/video_features.csv",
      [ITEM_ID, ...itemFields, UNLISTED_COLUMN].map(intColumn),
      [
        Array.from(itemOrder),
        ...itemFields.map((_, f) => Array.from(itemOrder, (i) => itemValues[i * F + f])),
        Array.from(itemOrder, () => 5000 + rng.int(60_000)),
      ],
    ),
    userFields: { file: "synthetic/synthetic_user_feature_dict.txt", names: userFields },
    itemFields: { file: "synthetic/synthetic_video_feature_dict.txt", names: itemFields },
  };
  return { raw, truth: { group, logit, blindLogit } };
}

/** The synthetic data set as the model sees it. */
export function syntheticDataset(options: Partial<SyntheticOptions> = {}): Dataset {
  return buildDataset(generateSynthetic(options).raw);
}

/** preference[g][f][v], with mean 0 over g for every (f, v). */
function centredPreferences(o: SyntheticOptions, rng: Rng): Float64Array[][] {
  const F = o.itemFieldSizes.length;
  // Centring over G groups shrinks the variance by (G − 1)/G; undo that so groupStrength holds.
  const scale = o.groups > 1 ? (o.groupStrength / Math.sqrt(F)) * Math.sqrt(o.groups / (o.groups - 1)) : 0;
  const pref = Array.from({ length: o.groups }, () => o.itemFieldSizes.map((size) => Float64Array.from({ length: size }, () => scale * rng.normal())));
  o.itemFieldSizes.forEach((size, f) => {
    for (let v = 0; v < size; v++) {
      let mean = 0;
      for (const g of pref) mean += g[f][v] / o.groups;
      for (const g of pref) g[f][v] -= mean;
    }
  });
  return pref;
}

function shuffled(n: number, rng: Rng): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function intColumn(name: string): ColumnSpec {
  return { name, kind: "int" };
}

function checkOptions(o: SyntheticOptions): void {
  const counts: [string, number][] = [
    ["seed", o.seed],
    ["users", o.users],
    ["items", o.items],
    ["groups", o.groups],
    ["maxHistory", o.maxHistory],
    ...o.userFieldSizes.map((s, f): [string, number] => [`userFieldSizes[${f}]`, s]),
    ...o.itemFieldSizes.map((s, f): [string, number] => [`itemFieldSizes[${f}]`, s]),
  ];
  for (const [name, v] of counts) {
    if (!Number.isInteger(v) || v < (name === "seed" ? 0 : 1)) throw new RangeError(`synthetic: ${name} must be a ${name === "seed" ? "non-negative" : "positive"} integer, got ${v}`);
  }
  if (!Number.isInteger(o.minHistory) || o.minHistory < MIN_INTERACTIONS || o.minHistory > o.maxHistory) {
    throw new RangeError(`synthetic: minHistory must be an integer in [${MIN_INTERACTIONS}, maxHistory], got ${o.minHistory}`);
  }
  if (o.userFieldSizes.length === 0 || o.itemFieldSizes.length === 0) throw new RangeError("synthetic: at least one user field and one item field are needed");
  for (const [name, v] of [["groupStrength", o.groupStrength], ["propensity", o.propensity], ["popularity", o.popularity]] as const) {
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`synthetic: ${name} must be finite and >= 0, got ${v}`);
  }
  for (const [name, v] of [["groupReveal", o.groupReveal], ["tieRate", o.tieRate]] as const) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`synthetic: ${name} must be a probability, got ${v}`);
  }
}
