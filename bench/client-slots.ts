// What keeping the clients' between-round values in the slot file (src/federated/client-slots.ts)
// costs a round against keeping them in memory: per client, its slot read and written back
// (training) and read again (evaluation), as the runners do; CPU and wall time of one round of
// every client, the best of `--repeats` (the first pass of each also pays for the pages' first touch).
// Defaults: KuaiSAR-R's 1,791 clients, slots of MRFF's private partition (9,616 values) and of
// local training's whole model (80,147).
//
//   node dist/bench/client-slots.js [--clients N] [--sizes S1,S2,...] [--repeats N]
import { ClientSlots } from "../src/federated/client-slots.js";
import { benchArgs } from "./bench-args.js";

const a = benchArgs({
  clients: { type: "string", default: "1791" },
  sizes: { type: "string", default: "9616,80147" },
  repeats: { type: "string", default: "4" },
});
const n = Number(a.clients);
const repeats = Number(a.repeats);
const sizes = a.sizes!.split(",").map(Number);
if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`--clients must be a positive integer, got '${a.clients}'`);
if (!(Number.isInteger(repeats) && repeats > 0)) throw new RangeError(`--repeats must be a positive integer, got '${a.repeats}'`);
if (!sizes.every((s) => Number.isInteger(s) && s > 0)) throw new RangeError(`--sizes must be positive integers, got '${a.sizes}'`);

/** Best CPU and wall milliseconds of `round` over the repeats. */
function best(round: () => void): { cpu: number; wall: number } {
  let cpu = Infinity;
  let wall = Infinity;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    round();
    const c = process.cpuUsage(c0);
    wall = Math.min(wall, performance.now() - w0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return { cpu, wall };
}

console.log(`| slot values | clients | slots in | CPU ms / round | wall ms / round |`);
console.log(`|---|---|---|---|---|`);
for (const size of sizes) {
  // the store's private partition sits inside a backend's memory: a slot goes to an offset of it
  const store = new Float32Array(size + 64).fill(0.5);
  const at = 32;
  const slots = ClientSlots.create(size, n);
  const memory = new Float32Array(size * n);
  try {
    const file = best(() => {
      for (let c = 0; c < n; c++) {
        slots.read(c, store, at);
        slots.write(c, store, at);
        slots.read(c, store, at);
      }
    });
    const mem = best(() => {
      for (let c = 0; c < n; c++) {
        store.set(memory.subarray(c * size, (c + 1) * size), at);
        memory.set(store.subarray(at, at + size), c * size);
        store.set(memory.subarray(c * size, (c + 1) * size), at);
      }
    });
    console.log(`| ${size} | ${n} | file | ${file.cpu.toFixed(0)} | ${file.wall.toFixed(0)} |`);
    console.log(`| ${size} | ${n} | memory | ${mem.cpu.toFixed(0)} | ${mem.wall.toFixed(0)} |`);
  } finally {
    slots.close();
  }
}
