// Load benchmark of one coordinator (issue 4, "Scale, measured"): `fedfacet serve` as a child
// process at the KuaiSAR-R model size, and N simulated devices in worker threads sending real HTTP
// requests with real payloads (bench/load-worker.ts: register, fetch the whole task, send a random
// valid raw-f32 update), for several N. The coordinator's CPU time and resident memory are read
// from /proc (Linux), so they are its own, apart from the devices' load on the same machine.
//   node dist/bench/load.js [--clients 250,500,1000,2000] [--rounds 3] [--workers 3]
//     [--data DIR (default $FEDFACET_KUAISAR or /work/shared/data/kuaisar-r)] [--json FILE]
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { loadState } from "../src/federated/coordinator/state.js";
import type { LoadMessage, LoadWorkerData } from "./load-worker.js";
import { referenceShape } from "./model-shape.js";
import { benchArgs } from "./bench-args.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const MAIN = join(here, "../src/cli/main.js");
const a = benchArgs({ clients: { type: "string" }, rounds: { type: "string" }, workers: { type: "string" }, data: { type: "string" }, json: { type: "string" } });
const counts = (a.clients ?? "250,500,1000,2000").split(",").map(Number);
const rounds = Number(a.rounds ?? 3);
const workers = Number(a.workers ?? 3);
const data = a.data ?? process.env.FEDFACET_KUAISAR ?? "/work/shared/data/kuaisar-r";
if (!existsSync(data)) throw new Error(`no KuaiSAR-R folder at ${data} (--data DIR or FEDFACET_KUAISAR)`);
if (!counts.every((n) => Number.isInteger(n) && n >= workers)) throw new Error(`--clients must be integers >= --workers (${workers})`);
const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

// the update's shape at the reference model size on this data's fields
const { shared: S, group: G, layout, updateValues } = await referenceShape(data);
const expertSizes = Array.from(layout.size);

interface Sample {
  t: number;
  cpu: number;
  rssMB: number;
}

/** CPU seconds (user + system) and resident MB of a process. */
function sample(pid: number): Sample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { t: performance.now() / 1000, cpu: (Number(f[11]) + Number(f[12])) / TICK, rssMB: Number(rss?.[1] ?? 0) / 1024 };
}

function peakMB(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

interface Row {
  clients: number;
  registerSeconds: number;
  registerCpuMsPerClient: number;
  updates: number;
  refused: number;
  /** Requests retried after a network error (e.g. ECONNRESET on a reused keep-alive socket), by cause. */
  retried: Record<string, number>;
  roundSeconds: number[];
  updatesPerSecond: number;
  cpuSeconds: number;
  cpuMsPerUpdate: number;
  coordinatorCpuShare: number;
  rssIdleMB: number;
  rssPeakMB: number;
  rssPerUpdateKB: number;
  bytesIn: number;
  bytesOut: number;
}

async function run(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-load-"));
  const args = ["serve", "--state", dir, "--port", "0", "--data-spec", data, "--rounds", String(rounds), "--clients-per-round", String(n), "--min-clients", String(n),
    "--max-clients", String(n), "--round-deadline", "600", "--headers-timeout", "120", "--body-timeout", "300"];
  const coord = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = "";
      coord.stdout!.setEncoding("utf8").on("data", (c: string) => {
        buf += c;
        const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(buf);
        if (m) resolve(m[1]!);
        // keep the pipe drained (the coordinator logs every update) without holding it all
        if (buf.length > 1 << 16) buf = buf.slice(-4096);
      });
      coord.on("exit", (code) => reject(new Error(`the coordinator exited (${code})`)));
    });
    const pid = coord.pid!;
    const started = sample(pid);
    let registered = 0;
    let refused = 0;
    const retried: Record<string, number> = {};
    let downloaded = 0;
    let atRegistered: Sample | null = null;
    let maxSeen = started;
    const timer = setInterval(() => {
      const s = sample(pid);
      if (s.rssMB > maxSeen.rssMB) maxSeen = s;
    }, 200);
    const share = (i: number) => Math.floor(n / workers) + (i < n % workers ? 1 : 0);
    await Promise.all(
      Array.from({ length: workers }, (_, i) => {
        const wd: LoadWorkerData = { url, clients: share(i), seed: 1000 + i, shared: S, blocks: layout.blocks, groups: layout.groups, expertSizes };
        const worker = new Worker(join(here, "load-worker.js"), { workerData: wd });
        return new Promise<void>((resolve, reject) => {
          worker.on("message", (m: LoadMessage) => {
            if (m.kind === "registered" && ++registered === n) atRegistered = sample(pid);
            if (m.kind === "refused") refused++;
            if (m.kind === "retried") retried[m.reason] = (retried[m.reason] ?? 0) + 1;
            if (m.kind === "done") downloaded += m.downloaded;
          });
          worker.on("error", reject);
          worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker ${i} exited ${code}`))));
        });
      }),
    );
    clearInterval(timer);
    const end = sample(pid);
    const peak = peakMB(pid);
    const status = (await (await fetch(`${url}/v1/status`)).json()) as { bytes: { in: number; out: number } };
    const reg = atRegistered ?? end;
    const history = loadState(dir)!.header.history;
    const updates = history.reduce((s, h) => s + h.clients, 0);
    const wall = end.t - reg.t;
    return {
      clients: n,
      registerSeconds: reg.t - started.t,
      registerCpuMsPerClient: ((reg.cpu - started.cpu) * 1000) / n,
      updates,
      refused,
      retried,
      roundSeconds: history.map((h) => h.seconds),
      updatesPerSecond: updates / wall,
      cpuSeconds: end.cpu - reg.cpu,
      cpuMsPerUpdate: ((end.cpu - reg.cpu) * 1000) / updates,
      coordinatorCpuShare: (end.cpu - reg.cpu) / wall,
      rssIdleMB: reg.rssMB,
      rssPeakMB: peak,
      rssPerUpdateKB: ((peak - reg.rssMB) * 1024) / n,
      bytesIn: status.bytes.in,
      bytesOut: status.bytes.out,
    };
  } finally {
    coord.kill("SIGTERM");
    await new Promise((r) => coord.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`model: ${S} shared + ${G} group values (task ${((4 * (S + G)) / 1024).toFixed(0)} KiB raw); an update carries ${updateValues} values (${((4 * updateValues) / 1024).toFixed(0)} KiB raw); ${workers} device workers, ${rounds} rounds per size`);
const rows: Row[] = [];
for (const n of counts) {
  const r = await run(n);
  rows.push(r);
  console.log(JSON.stringify(r));
}
const f = (x: number, d = 1) => x.toFixed(d);
console.log("\n| devices | register (s) | coord. CPU ms / registration | updates | updates/s (wall) | round times (s) | coord. CPU ms / update | coord. CPU share | RSS idle → peak (MB) | RSS / update in a round (KiB) | MB in / out |");
console.log("|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---|");
for (const r of rows) {
  console.log(`| ${r.clients} | ${f(r.registerSeconds)} | ${f(r.registerCpuMsPerClient, 2)} | ${r.updates}${r.refused ? ` (+${r.refused} refused)` : ""} | ${f(r.updatesPerSecond)} | ${r.roundSeconds.map((s) => f(s)).join(", ")} | ${f(r.cpuMsPerUpdate, 2)} | ${f(100 * r.coordinatorCpuShare, 0)}% | ${f(r.rssIdleMB, 0)} → ${f(r.rssPeakMB, 0)} | ${f(r.rssPerUpdateKB, 0)} | ${f(r.bytesIn / 1e6, 0)} / ${f(r.bytesOut / 1e6, 0)} |`);
}
if (a.json) writeFileSync(a.json, JSON.stringify({ shared: S, group: G, updateValues, workers, rounds, rows }, null, 2));
