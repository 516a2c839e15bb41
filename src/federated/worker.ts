// Entry of a worker thread: builds a ClientRunner from workerData once, then runs the tasks the
// pool sends, one at a time, transferring the result buffers back.
import { parentPort, workerData } from "node:worker_threads";
import { ClientRunner, type RunnerInit, type TaskResult } from "./runner.js";

function transferables(r: TaskResult): ArrayBuffer[] {
  const views =
    r.kind === "train" ? [r.result.sums, r.result.groupWeight, r.result.routeCount]
    : r.kind === "deltas" ? [r.result.clients, r.result.deltas, r.result.routes, r.result.weights]
    : [r.result.clients, r.result.valid, r.result.test, r.result.routes];
  return views.map((v) => v.buffer as ArrayBuffer);
}

const port = parentPort!;
try {
  const runner = await ClientRunner.create(workerData as RunnerInit);
  port.on("message", (task) => {
    try {
      const r = runner.run(task);
      port.postMessage({ ok: r }, transferables(r));
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
