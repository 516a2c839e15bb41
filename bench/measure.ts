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

/** A batch should last at least this long, so per-sample timer overhead stays well under 1%. */
const BATCH_MS = 0.2;
const MAX_BATCH = 4096;

export interface Measurement {
  medianNs: number;
  samples: number;
}

function time(t: Timed): number {
  const t0 = performance.now();
  t.call();
  return performance.now() - t0;
}

export async function measure(t: Timed, budget: Budget): Promise<Measurement> {
  // The first call compiles and first-touches everything; when it is short it may not be
  // representative, so a second call is timed to choose the batch size.
  t.reset();
  let once = time(t);
  if (once < BATCH_MS) once = time(t);
  const batch = Math.max(1, Math.min(t.maxBatch ?? MAX_BATCH, Math.ceil(BATCH_MS / Math.max(once, 1e-6))));

  const bench = new Bench({
    warmupTime: budget.warmupMs,
    warmupIterations: budget.warmupIterations,
    time: budget.timeMs,
    iterations: budget.iterations,
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
