// The paired comparison of bench/paired.ts: test AUC of a reference model minus each other model,
// per seed and pooled over seeds, from the runs' predictions.json (the same test users for every
// run), as a markdown table.
import { auc } from "../src/metrics/auc.js";
import { bootstrapAuc } from "../src/metrics/bootstrap.js";
import { pairedBootstrapAuc, pooledPairedBootstrapAuc } from "../src/metrics/paired-bootstrap.js";
import { Rng } from "../src/util/rng.js";

/** One run's test targets: what the comparison reads of a predictions.json. */
export interface RunScores {
  /** Where it came from, for messages. */
  source: string;
  /** The run's training seed (null: not a seeded run, e.g. a floor). */
  seed: number | null;
  users: ArrayLike<number>;
  labels: ArrayLike<number>;
  scores: ArrayLike<number>;
}

export interface ModelRuns {
  name: string;
  /** One per seed, in the same seed order for every model. */
  runs: RunScores[];
}

export interface PairedRow {
  other: string;
  /** "seed 2", or "pooled (3 seeds)". */
  scope: string;
  /** Test AUC of the reference and of the other model (means over seeds when pooled). */
  refAuc: number;
  otherAuc: number;
  diff: number;
  lo: number;
  hi: number;
  /** Fraction of resamples with reference − other ≤ 0. */
  atMostZero: number;
  /** Half-width of the reference's own (unpaired) 95% bootstrap interval: what the two separate intervals suggest. */
  unpairedHalfWidth: number;
}

/**
 * Throws unless every run scores the same users with the same test labels, and every model has as
 * many runs as the reference (runs are paired by position).
 */
export function checkPairable(ref: ModelRuns, others: readonly ModelRuns[]): void {
  const base = ref.runs[0];
  if (base === undefined) throw new Error(`${ref.name}: no runs`);
  for (const m of [ref, ...others]) {
    if (m.runs.length !== ref.runs.length) throw new Error(`${m.name} has ${m.runs.length} runs but the reference ${ref.name} has ${ref.runs.length}: runs are paired by position (seed)`);
    for (const r of m.runs) {
      if (r.users.length !== base.users.length) throw new Error(`${r.source}: ${r.users.length} users but ${base.source} has ${base.users.length}: not the same test set`);
      for (let i = 0; i < r.users.length; i++) {
        if (r.users[i] !== base.users[i]) throw new Error(`${r.source}: user ${i} is ${r.users[i]} but ${base.users[i]} in ${base.source}: not the same test set`);
        if (r.labels[i] !== base.labels[i]) throw new Error(`${r.source}: user ${r.users[i]}'s test label is ${r.labels[i]} but ${base.labels[i]} in ${base.source}: not the same test set`);
      }
    }
  }
  ref.runs.forEach((r, k) => {
    for (const m of others) {
      const o = m.runs[k]!;
      if (r.seed !== null && o.seed !== null && r.seed !== o.seed) throw new Error(`run ${k + 1}: ${ref.name} has seed ${r.seed} but ${m.name} seed ${o.seed}: give each model's folders in the same seed order`);
    }
  });
}

/**
 * Per seed, the paired bootstrap of AUC(reference) − AUC(other); then, when there are several
 * seeds, the pooled row: the mean of the per-seed differences with its interval from one user
 * resample shared by every seed (pooledPairedBootstrapAuc says why). Every row draws from a fresh
 * Rng(seed), so all rows see the same user resamples.
 */
export function pairedRows(ref: ModelRuns, others: readonly ModelRuns[], resamples: number, seed: number): PairedRow[] {
  checkPairable(ref, others);
  const labels = ref.runs[0]!.labels;
  const opts = { resamples };
  const unpaired = ref.runs.map((r) => {
    const ci = bootstrapAuc(r.scores, labels, new Rng(seed), opts);
    return (ci.hi - ci.lo) / 2;
  });
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const rows: PairedRow[] = [];
  for (const m of others) {
    ref.runs.forEach((r, k) => {
      const o = m.runs[k]!;
      const d = pairedBootstrapAuc(labels, r.scores, o.scores, new Rng(seed), opts);
      rows.push({ other: m.name, scope: r.seed === null ? `run ${k + 1}` : `seed ${r.seed}`, refAuc: auc(r.scores, labels), otherAuc: auc(o.scores, labels), ...pick(d), unpairedHalfWidth: unpaired[k]! });
    });
    if (ref.runs.length > 1) {
      const pairs = ref.runs.map((r, k) => ({ a: r.scores, b: m.runs[k]!.scores }));
      const d = pooledPairedBootstrapAuc(labels, pairs, new Rng(seed), opts);
      rows.push({
        other: m.name,
        scope: `pooled (${ref.runs.length} seeds)`,
        refAuc: mean(ref.runs.map((r) => auc(r.scores, labels))),
        otherAuc: mean(m.runs.map((o) => auc(o.scores, labels))),
        ...pick(d),
        unpairedHalfWidth: mean(unpaired),
      });
    }
  }
  return rows;
}

const pick = (d: { diff: number; lo: number; hi: number; atMostZero: number }) => ({ diff: d.diff, lo: d.lo, hi: d.hi, atMostZero: d.atMostZero });

const f4 = (x: number) => x.toFixed(4);
const signed = (x: number) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);

export function pairedMarkdown(refName: string, rows: readonly PairedRow[]): string {
  const head = `| ${refName} − | runs | test AUC ${refName} | test AUC other | difference | paired 95% CI | P(diff ≤ 0) | unpaired CI of ${refName} (±) |`;
  const rule = "|---|---|---|---|---|---|---|---|";
  const lines = rows.map((r) =>
    [r.other, r.scope, f4(r.refAuc), f4(r.otherAuc), signed(r.diff), `${signed(r.lo)} … ${signed(r.hi)}`, r.atMostZero.toFixed(3), f4(r.unpairedHalfWidth)].join(" | "),
  );
  return [head, rule, ...lines.map((l) => `| ${l} |`)].join("\n") + "\n";
}
