// Entry of a worker thread: builds a ClientRunner from workerData once, then runs the tasks the
// pool sends, one at a time, transferring the result buffers back, and takes training results'
// buffers back for reuse once the coordinator has folded them.
import { parentPort, workerData } from "node:worker_threads";
import { ClientRunner, transferables, type Recycle, type RunnerInit, type Task } from "./runner.js";

const port = parentPort!;
try {
  const runner = await ClientRunner.create(workerData as RunnerInit);
  port.on("message", (m: Task | Recycle) => {
    // no reply: a recycle that fails (arrays of another shape) is a bug, and crashes the worker
    if (m.kind === "recycle") return runner.recycle(m.result);
    try {
      const r = runner.run(m);
      port.postMessage({ ok: r }, transferables(r));
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
