// What `fedfacet train` shows while it runs: on a terminal, a progress line redrawn in place (round,
// phase, clients done, clients/s, ETA) on stderr; one line per evaluated round on stdout (also
// when not on a terminal, where nothing else is drawn); and a final table.
import type { Best, Progress, RoundRow, TrainReport } from "../federated/trainer.js";

const f4 = (v: number | null) => (v === null || !Number.isFinite(v) ? "   –  " : v.toFixed(4));

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export class TrainDisplay {
  private readonly started = performance.now();
  private roundsDone = 0;
  private roundStarted = performance.now();
  private phaseStarted = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly log: (line: string) => void,
    /** The terminal stream for the progress line, or null when not on a terminal. */
    private readonly tty: NodeJS.WriteStream | null,
  ) {}

  progress(p: Progress): void {
    if (!this.tty) return;
    const now = performance.now();
    if (p.done === 0) {
      this.phaseStarted = now;
      return;
    }
    if (now - this.lastDraw < 100 && p.done < p.total) return;
    this.lastDraw = now;
    const rate = p.done / Math.max(1e-3, (now - this.phaseStarted) / 1000);
    const width = 24;
    const fill = Math.round((width * p.done) / Math.max(1, p.total));
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    const line = `round ${p.round}/${p.rounds} ${p.phase === "train" ? "train" : "eval "} ${bar} ${p.done}/${p.total} clients  ${rate.toFixed(0)}/s  ETA ${clock(this.eta(p, now))}`;
    this.tty.write(`\r${line.slice(0, (this.tty.columns || 100) - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** After every round; prints a line when the round was evaluated. */
  round(row: RoundRow, best: Best | null): void {
    this.roundsDone++;
    this.roundStarted = performance.now();
    if (row.val_auc === null) return;
    this.clear();
    const mark = best?.round === row.round ? "  *" : "";
    this.log(
      `round ${String(row.round).padStart(4)}  ${row.seconds.toFixed(2).padStart(6)}s  loss ${f4(row.train_loss)}  ` +
        `val AUC ${f4(row.val_auc)} LL ${f4(row.val_logloss)}  test AUC ${f4(row.test_auc)} LL ${f4(row.test_logloss)}` +
        (row.epsilon !== undefined ? `  ε ${row.epsilon.toFixed(3)}` : "") +
        (row.bytes_up !== undefined ? `  up ${mb(row.bytes_up)} down ${mb(row.bytes_down!)} MB` : "") +
        mark,
    );
  }

  finish(r: TrainReport, files: string[]): void {
    this.clear();
    const b = r.best;
    const secs = r.rounds.length ? r.rounds.reduce((s, x) => s + x.seconds, 0) / r.rounds.length : NaN;
    this.log("");
    if (b) {
      this.log(`            AUC      LogLoss`);
      this.log(`valid    ${f4(b.val_auc)}   ${f4(b.val_logloss)}`);
      this.log(`test     ${f4(b.test_auc)}   ${f4(b.test_logloss)}   (95% CI ${b.test_auc_ci[0].toFixed(3)}–${b.test_auc_ci[1].toFixed(3)})`);
      this.log(`best round ${b.round} of ${r.rounds.length}`);
    }
    this.log(`${r.config.regime} on ${r.dataset.users} clients · ${secs.toFixed(2)} s/round · ${r.workers} worker${r.workers === 1 ? "" : "s"} · ${r.kernels} · peak RSS ${r.peak_rss_mb} MB`);
    if (r.config.dp) {
      const spent = r.rounds.at(-1)?.epsilon ?? 0;
      this.log(`differential privacy: epsilon ${spent.toFixed(3)} of ${r.config.dp.epsilon} spent (delta ${r.config.dp.delta}, noise multiplier ${r.config.dp.noiseMultiplier}, clip ${r.config.dp.clip}, ${r.config.dp.noise} noise)`);
    }
    if (r.stopped !== undefined) this.log(`stopped after round ${r.rounds.length} of ${r.config.rounds}: ${r.stopped}`);
    else if (!r.completed) this.log(`stopped after round ${r.rounds.length} of ${r.config.rounds}: continue with --resume`);
    for (const f of files) this.log(`wrote ${f}`);
  }

  /**
   * Seconds left: rounds left times the mean round time so far (before the first round ends, the
   * current round's pace), counting training as about 4/5 of a round and evaluation as the rest.
   */
  private eta(p: Progress, now: number): number {
    const share = p.phase === "train" ? (0.8 * p.done) / p.total : 0.8 + (0.2 * p.done) / p.total;
    const perRound = this.roundsDone > 0 ? (this.roundStarted - this.started) / 1000 / this.roundsDone : (now - this.roundStarted) / 1000 / share;
    return perRound * (p.rounds - p.round + 1 - share);
  }

  private clear(): void {
    if (this.tty && this.drawn) this.tty.write("\r\x1b[K");
    this.drawn = false;
  }
}
