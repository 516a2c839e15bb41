// The coordinator's own work per update at the KuaiSAR-R model size, without HTTP or devices
// competing for the CPU (bench/load.ts measures the whole service): Coordinator.submit() of N
// random valid raw-f32 updates (decode, CRC, shape and finiteness checks, held in memory until the
// round closes), and the round's close (f64 sums in client-id order, server step, checkpoint),
// timed with process.cpuUsage; heap growth per held update from process.memoryUsage.
//   node --expose-gc dist/bench/coordinator-core.js [--updates 250,1000,2000] [--data DIR]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../src/federated/config.js";
import { Coordinator } from "../src/federated/coordinator/coordinator.js";
import { schemaOfSource } from "../src/federated/source.js";
import { encodeFrame } from "../src/federated/wire/index.js";
import { Rng } from "../src/util/rng.js";
import { referenceShape } from "./model-shape.js";
import { benchArgs } from "./bench-args.js";

const a = benchArgs({ updates: { type: "string" }, data: { type: "string" } });
const counts = (a.updates ?? "250,1000,2000").split(",").map(Number);
const data = a.data ?? process.env.FEDFACET_KUAISAR ?? "/work/shared/data/kuaisar-r";
const shape = await referenceShape(data);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

console.log("| updates in the round | submit: CPU ms / update | close (aggregate + checkpoint): CPU ms | … per update | heap + external held / update (KiB) |");
console.log("|---:|---:|---:|---:|---:|");
for (const n of counts) {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-core-"));
  try {
    const config = defaultConfig("mrff");
    config.data = { kind: "folder", dir: data };
    config.rounds = 1;
    config.participation = { count: n };
    const c = await Coordinator.create({ config, schema: schemaOfSource(config.data), stateDir: dir, minClients: n, roundDeadlineMs: 3_600_000 });
    // registered together: the registry writes them in one or a few batches
    const ids = await Promise.all(Array.from({ length: n }, () => c.register()));
    const { shared: S, layout } = shape;
    const blocks = layout.blocks;
    const rng = new Rng(7);
    const delta = (len: number) => Float32Array.from({ length: len }, () => 1e-3 * rng.normal());
    // eight distinct updates, sent round-robin (generating n of them would dominate the run)
    const frames = Array.from({ length: 8 }, () => {
      const routes = Int32Array.from({ length: blocks }, () => rng.int(layout.groups));
      return encodeFrame({
        type: "update",
        round: 0,
        partitions: [
          { name: "shared", encoding: "f32", length: S, values: delta(S) },
          ...Array.from(routes, (k, l) => {
            const len = layout.size[l * layout.groups + k]!;
            return { name: `group.${l}.${k}`, encoding: "f32" as const, length: len, values: delta(len) };
          }),
          { name: "routes", encoding: "i32", length: blocks, values: routes },
          { name: "meta", encoding: "f32", length: 2, values: Float32Array.of(40, 0.69) },
        ],
      });
    });
    gc();
    const mem0 = process.memoryUsage();
    const t0 = cpuMs();
    for (let i = 0; i < n - 1; i++) c.submit(ids[i]!.client, ids[i]!.token, frames[i % 8]!.slice());
    const t1 = cpuMs();
    gc();
    const mem1 = process.memoryUsage();
    // the last update closes the round: its submit is one more update plus the close
    c.submit(ids[n - 1]!.client, ids[n - 1]!.token, frames[(n - 1) % 8]!.slice());
    const t2 = cpuMs();
    const submitMs = (t1 - t0) / (n - 1);
    const closeMs = t2 - t1 - submitMs;
    const held = (mem1.heapUsed + mem1.external - mem0.heapUsed - mem0.external) / 1024 / (n - 1);
    if (!c.status().finished) throw new Error("the round did not close");
    console.log(`| ${n} | ${submitMs.toFixed(2)} | ${closeMs.toFixed(0)} | ${(closeMs / n).toFixed(3)} | ${held.toFixed(0)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
