// Executors run a round's tasks (chunks of clients) on ClientRunners: in this thread, or on a pool of
// worker threads that each own a runner. Results come back in any order; the callers (Aggregator,
// evaluation) place them by chunk index, so the numbers do not depend on the executor.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ClientRunner, type RunnerInit, type Task, type TaskResult } from "./runner.js";

export interface Executor {
  readonly workers: number;
  /** Runs every task; onResult sees each result as it arrives. Rejects on the first failure. */
  run(tasks: readonly Task[], onResult: (r: TaskResult) => void): Promise<void>;
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

  async close(): Promise<void> {}
}

type Reply = { ok: TaskResult } | { error: string } | { ready: true };

const WORKER_URL = new URL("./worker.js", import.meta.url);

class WorkerPool implements Executor {
  /** The failure of a worker outside a task (startup, a crash), reported by the next run. */
  private broken: Error | null = null;
  private onReply: ((w: number, r: Reply) => void) | null = null;

  private constructor(private readonly threads: Worker[]) {}

  get workers(): number {
    return this.threads.length;
  }

  static async start(init: RunnerInit, n: number): Promise<WorkerPool> {
    const threads = Array.from({ length: n }, () => new Worker(WORKER_URL, { workerData: init }));
    const pool = new WorkerPool(threads);
    const ready = threads.map(
      (t, w) =>
        new Promise<void>((resolve, reject) => {
          t.once("message", (r: Reply) => ("ready" in r ? resolve() : reject(new Error(`worker ${w}: ${"error" in r ? r.error : "bad reply"}`))));
          t.once("error", reject);
        }),
    );
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    threads.forEach((t, w) => {
      t.on("message", (r: Reply) => pool.onReply?.(w, r));
      t.on("error", (e) => pool.fail(new Error(`worker ${w} crashed: ${e.stack ?? e.message}`)));
      t.on("exit", (code) => pool.fail(new Error(`worker ${w} exited (code ${code})`)));
    });
    return pool;
  }

  run(tasks: readonly Task[], onResult: (r: TaskResult) => void): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      let next = 0;
      let pending = 0;
      const give = (w: number): void => {
        if (next < tasks.length) {
          pending++;
          this.threads[w]!.postMessage(tasks[next++]);
        } else if (pending === 0) {
          this.onReply = null;
          resolve();
        }
      };
      this.onReply = (w, r) => {
        pending--;
        if ("error" in r) {
          this.onReply = null;
          reject(new Error(`worker ${w}: ${r.error}`));
          return;
        }
        if ("ok" in r) {
          try {
            onResult(r.ok);
          } catch (e) {
            this.onReply = null;
            reject(e);
            return;
          }
        }
        give(w);
      };
      this.failRun = (e) => {
        this.onReply = null;
        reject(e);
      };
      if (tasks.length === 0) resolve();
      else this.threads.forEach((_, w) => give(w));
    });
  }

  private failRun: ((e: Error) => void) | null = null;

  private fail(e: Error): void {
    if (this.closing) return;
    this.broken ??= e;
    this.failRun?.(e);
  }

  private closing = false;

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
