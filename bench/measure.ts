// Times one implementation of one op with tinybench: warm-up first (V8 tiers WASM up lazily and has
// no on-stack replacement, so only calls made after tier-up run optimised code), then samples
// whose median is the reported figure. Calls shorter than BATCH_MS are batched so that the
// timer's own cost does not count; each sample is the mean of one batch.
import { Bench, type FnReturnedObject } from "tinybench";

/** How long to warm up and to sample, per implementation. */
export interface Budget {
  warmupMs: number;
  warmupIterations: number;
  timeMs: number;
  iterations: number;
}

/** A thing to time: `call` runs the work once; `reset` (untimed) restores inputs it mutates. */
export interface Timed {
  call(): void;
  reset(): void;
  /**
   * Calls that may run back to back between resets. In-place ops drift when repeated (x *= a
   * reaches denormals, which are slow on x86), so they get short batches.
   */
  maxBatch?: number;
}

/**
 * Which clock samples are read from. "cpu" is this process's CPU time (user + system): on a
 * machine shared with other work, a call that the OS pre-empts is not charged for the time it
 * waited, so long calls are measured as fairly as short ones. "wall" is elapsed time.
 */
export type Clock = "cpu" | "wall";

function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * A batch should last at least this long, so per-sample timer overhead and resolution (1 µs for
 * the CPU clock) stay well under 1%.
 */
const BATCH_MS: Record<Clock, number> = { wall: 0.2, cpu: 1 };
const MAX_BATCH = 4096;

export interface Measurement {
  medianNs: number;
  samples: number;
}

function time(t: Timed, now: () => number): number {
  const t0 = now();
  t.call();
  return now() - t0;
}

export async function measure(t: Timed, budget: Budget, clock: Clock): Promise<Measurement> {
  const now = clock === "cpu" ? cpuNowMs : () => performance.now();
  const batchMs = BATCH_MS[clock];
  t.reset();
  // The batch size comes from the fastest of a few calls: one slow call (compilation, a cold
  // cache, a pre-emption) made batches of 1–2 calls, and then the clock's own resolution and cost
  // (about 1 µs for the CPU clock) inflated every sample of a 9 µs kernel by 5–15%.
  let once = time(t, now);
  for (let k = 0; k < 4 && once < batchMs; k++) once = Math.min(once, time(t, now));
  const batch = Math.max(1, Math.min(t.maxBatch ?? MAX_BATCH, Math.ceil(batchMs / Math.max(once, 1e-6))));

  const bench = new Bench({
    warmupTime: budget.warmupMs,
    warmupIterations: budget.warmupIterations,
    time: budget.timeMs,
    iterations: budget.iterations,
    now,
  });
  bench.add(
    "op",
    (): FnReturnedObject => {
      const start = bench.now();
      for (let k = 0; k < batch; k++) t.call();
      const elapsed = bench.now() - start;
      return { overriddenDuration: elapsed / batch, overriddenIterationCost: elapsed };
    },
    { async: false, beforeEach: () => t.reset() },
  );
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state === "errored") throw r.error;
  if (r.state !== "completed") throw new Error(`benchmark ended in state '${r.state}'`);
  return { medianNs: r.latency.p50 * 1e6, samples: r.latency.samplesCount };
}
