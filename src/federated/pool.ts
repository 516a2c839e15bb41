// Executors run a round's tasks (chunks of clients) on ClientRunners: in this thread, or on a pool of
// worker threads that each own a runner. Results come back in any order; the callers (Aggregator,
// evaluation) place them by chunk index, so the numbers do not depend on the executor.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ChunkResult } from "./aggregate.js";
import { ClientRunner, transferables, type Recycle, type RunnerInit, type Task, type TaskResult } from "./runner.js";

export interface Executor {
  readonly workers: number;
  /** Runs every task; onResult sees each result as it arrives. Rejects on the first failure. */
  run(tasks: readonly Task[], onResult: (r: TaskResult) => void): Promise<void>;
  /**
   * Hands a training result that the caller is done with back to the runner that made it, which
   * writes a later chunk into its arrays (the caller must not read them any more).
   */
  recycle(r: ChunkResult): void;
  close(): Promise<void>;
}

/** Default worker count: one per core. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** workers ≤ 1: the runner lives in this thread (no threads at all). */
export async function startExecutor(init: RunnerInit, workers: number): Promise<Executor> {
  if (!(Number.isInteger(workers) && workers >= 0)) throw new RangeError(`workers must be a non-negative integer, got ${workers}`);
  return workers <= 1 ? new InProcessExecutor(await ClientRunner.create(init)) : WorkerPool.start(init, workers);
}

class InProcessExecutor implements Executor {
  readonly workers = 1;
  constructor(private readonly runner: ClientRunner) {}

  async run(tasks: readonly Task[], onResult: (r: TaskResult) => void): Promise<void> {
    for (const t of tasks) {
      onResult(this.runner.run(t));
      // let timers and signal handlers run between chunks (progress display, Ctrl-C)
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  recycle(r: ChunkResult): void {
    this.runner.recycle(r);
  }

  async close(): Promise<void> {}
}

type Reply = { ok: TaskResult } | { error: string } | { ready: true };

const WORKER_URL = new URL("./worker.js", import.meta.url);

/** The run in progress: where a reply goes, and how it fails. */
interface Run {
  reply(w: number, r: Reply): void;
  fail(e: Error): void;
}

class WorkerPool implements Executor {
  private current: Run | null = null;
  /** A failed run, or a worker that crashed or exited outside close(): later runs fail with this. */
  private broken: Error | null = null;
  private closing = false;
  /** The worker each training result came from, until it goes back there (recycle). */
  private readonly origin = new WeakMap<ChunkResult, number>();

  private constructor(private readonly threads: Worker[]) {}

  get workers(): number {
    return this.threads.length;
  }

  static async start(init: RunnerInit, n: number): Promise<WorkerPool> {
    const threads = Array.from({ length: n }, () => new Worker(WORKER_URL, { workerData: init }));
    const pool = new WorkerPool(threads);
    try {
      await Promise.all(
        threads.map(
          (t, w) =>
            new Promise<void>((resolve, reject) => {
              t.once("message", (r: Reply) => ("ready" in r ? resolve() : reject(new Error(`worker ${w}: ${"error" in r ? r.error : "bad reply"}`))));
              t.once("error", reject);
              t.once("exit", (code) => reject(new Error(`worker ${w} exited (code ${code}) while starting`)));
            }),
        ),
      );
    } catch (e) {
      await pool.close();
      throw e;
    }
    threads.forEach((t, w) => {
      t.on("message", (r: Reply) => pool.current?.reply(w, r));
      t.on("error", (e) => pool.crash(new Error(`worker ${w} crashed: ${e.stack ?? e.message}`)));
      t.on("exit", (code) => pool.crash(new Error(`worker ${w} exited (code ${code})`)));
    });
    return pool;
  }

  /** Keeps every worker busy with one task at a time, handing out the next as each finishes. */
  run(tasks: readonly Task[], onResult: (r: TaskResult) => void): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.current) return Promise.reject(new Error("WorkerPool: a run is already in progress"));
    return new Promise((resolve, reject) => {
      let next = 0;
      let pending = 0;
      const end = (e?: unknown) => {
        this.current = null;
        if (e === undefined) return resolve();
        // tasks of this run may still be in flight: their replies must not reach a later run
        this.broken ??= e instanceof Error ? e : new Error(String(e));
        reject(e);
      };
      const give = (w: number): void => {
        if (next < tasks.length) {
          pending++;
          this.threads[w]!.postMessage(tasks[next++]);
        } else if (pending === 0) end();
      };
      this.current = {
        reply: (w, r) => {
          pending--;
          if ("error" in r) return end(new Error(`worker ${w}: ${r.error}`));
          if ("ok" in r) {
            if (r.ok.kind === "train") this.origin.set(r.ok.result, w);
            try {
              onResult(r.ok);
            } catch (e) {
              return end(e);
            }
          }
          give(w);
        },
        fail: end,
      };
      if (tasks.length === 0) end();
      else this.threads.forEach((_, w) => give(w));
    });
  }

  recycle(r: ChunkResult): void {
    const w = this.origin.get(r);
    if (w === undefined) throw new Error(`WorkerPool: chunk ${r.chunk}'s result came from no worker of this pool, or went back already`);
    this.origin.delete(r);
    // a broken or closing pool runs no more chunks
    if (this.broken || this.closing) return;
    const m: Recycle = { kind: "recycle", result: r };
    this.threads[w]!.postMessage(m, transferables({ kind: "train", result: r }));
  }

  private crash(e: Error): void {
    if (this.closing) return;
    this.broken ??= e;
    this.current?.fail(e);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
