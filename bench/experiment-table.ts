// The experiment's bookkeeping: one row per model (its seeds pooled) or floor, and the markdown
// table of those rows. Separate from the script so that the arithmetic is testable without a run.

/** What one training run (one model, one seed) contributes, read from its report.json. */
export interface RunSummary {
  model: string;
  seed: number;
  rounds: number;
  best_round: number;
  val_auc: number;
  test_auc: number;
  test_auc_ci: [number, number];
  test_logloss: number;
  /** Median wall time of a round (training + evaluation): robust to round 1's compile-and-warm-up. */
  seconds_per_round: number;
  peak_rss_mb: number;
  wall_seconds: number;
}

export interface TableRow {
  model: string;
  seeds: number[];
  val_auc: number;
  test_auc_mean: number;
  /** Sample standard deviation over seeds (null with one seed). */
  test_auc_sd: number | null;
  /** Bootstrap 95% interval of the test AUC, averaged over seeds. */
  test_auc_ci: [number, number];
  test_logloss: number;
  seconds_per_round: number | null;
  /** Highest peak over the seeds (null for floors, computed in the script's own process). */
  peak_rss_mb: number | null;
  /** Best-validation round per seed. */
  best_rounds: number[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function sd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** One row per model, in the order models first appear in `runs`. */
export function modelRows(runs: readonly RunSummary[]): TableRow[] {
  const models = [...new Set(runs.map((r) => r.model))];
  return models.map((model) => {
    const rs = runs.filter((r) => r.model === model);
    const aucs = rs.map((r) => r.test_auc);
    return {
      model,
      seeds: rs.map((r) => r.seed),
      val_auc: mean(rs.map((r) => r.val_auc)),
      test_auc_mean: mean(aucs),
      test_auc_sd: sd(aucs),
      test_auc_ci: [mean(rs.map((r) => r.test_auc_ci[0])), mean(rs.map((r) => r.test_auc_ci[1]))],
      test_logloss: mean(rs.map((r) => r.test_logloss)),
      seconds_per_round: mean(rs.map((r) => r.seconds_per_round)),
      peak_rss_mb: Math.max(...rs.map((r) => r.peak_rss_mb)),
      best_rounds: rs.map((r) => r.best_round),
    };
  });
}

const f3 = (x: number) => x.toFixed(3);

export function markdownTable(rows: readonly TableRow[]): string {
  const head = "| model | seeds | val AUC | test AUC (mean ± sd) | test AUC 95% bootstrap CI | test LogLoss | s/round | peak RSS MiB | best round |";
  const rule = "|---|---|---|---|---|---|---|---|---|";
  const lines = rows.map((r) =>
    [
      r.model,
      r.seeds.length ? r.seeds.join(",") : "–",
      f3(r.val_auc),
      r.test_auc_sd === null ? f3(r.test_auc_mean) : `${f3(r.test_auc_mean)} ± ${f3(r.test_auc_sd)}`,
      `${f3(r.test_auc_ci[0])}–${f3(r.test_auc_ci[1])}`,
      f3(r.test_logloss),
      r.seconds_per_round === null ? "–" : r.seconds_per_round.toFixed(2),
      r.peak_rss_mb === null ? "–" : String(Math.round(r.peak_rss_mb)),
      r.best_rounds.length ? r.best_rounds.join(",") : "–",
    ].join(" | "),
  );
  return [head, rule, ...lines.map((l) => `| ${l} |`)].join("\n");
}
