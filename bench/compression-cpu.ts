// CPU cost of sending updates through the wire path: one training round of every KuaiSAR-R
// client in this thread (no workers, so process CPU time is the round's alone), raw f32 against
// a compressed setting, alternating, `--repeats` times. Round 2 is measured: round 1 carries the
// set-up and the JIT's warm-up.
//
//   node dist/bench/compression-cpu.js [--data DIR] [--topk F] [--repeats N]
import { resolve } from "node:path";
import { defaultConfig, type Compression } from "../src/federated/config.js";
import { train } from "../src/federated/trainer.js";
import { benchArgs, KUAISAR_DEFAULT } from "./bench-args.js";

const a = benchArgs({
  data: { type: "string", default: KUAISAR_DEFAULT },
  topk: { type: "string", default: "0.05" },
  repeats: { type: "string", default: "2" },
});

/** CPU seconds of round 2's training phase. */
async function roundCpu(compression: Compression): Promise<number> {
  const c = defaultConfig("mrff");
  c.data = { kind: "folder", dir: resolve(a.data!) };
  c.rounds = 2;
  c.evalEvery = 2;
  c.bootstrap = 10;
  c.compression = compression;
  let start = process.cpuUsage();
  let cpu = NaN;
  await train(c, {
    workers: 0,
    onRound: () => (start = process.cpuUsage()),
    onProgress: (p) => {
      if (p.round === 2 && p.phase === "eval" && p.done === 0) {
        const d = process.cpuUsage(start);
        cpu = (d.user + d.system) / 1e6;
      }
    },
  });
  return cpu;
}

const settings: Compression[] = [{ kind: "f32" }, { kind: "topk-int8", k: Number(a.topk), block: 128 }];
for (let r = 0; r < Number(a.repeats); r++) {
  for (const s of settings) console.log(`${s.kind}${"k" in s ? ` k=${s.k}` : ""}: round 2 training ${(await roundCpu(s)).toFixed(2)} s CPU`);
}
