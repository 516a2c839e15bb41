// A plain and a secure run side by side over loopback HTTP: one coordinator, n in-process devices
// (FederatedClient) on synthetic data with the default MRFF model, a few rounds. Prints per run the
// wall seconds per round, the bytes each device sends per round (request bodies) and the
// coordinator's bytes in and out per round; the secure run's extra is the all-experts vector, the
// key and share messages, and the polling of four phases.
//   node dist/bench/secagg-net.js [devices=8] [rounds=2]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../src/federated/config.js";
import { startCoordinator } from "../src/federated/coordinator/http.js";
import { FederatedClient } from "../src/federated/net-client/client.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { benchPositionals } from "./bench-args.js";

const { devices: n, rounds } = benchPositionals({ devices: 8, rounds: 2 });
const config = defaultConfig("mrff");
config.data = { kind: "synthetic", options: { users: n } };
config.rounds = rounds;
config.weighting = "uniform";
const ds = loadData(config.data);

async function run(secure: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-secagg-net-"));
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, minClients: n, roundDeadlineMs: 120_000, ...(secure ? { secure: { bound: 0.1 } } : {}) });
  let sent = 0;
  const t = performance.now();
  try {
    const devices = Array.from({ length: n }, (_, i) =>
      new FederatedClient({ server: running.url, user: ds.userIds[i]!, data: ds, onEvent: (e) => e.kind === "accepted" && (sent += e.bytes) }).run(),
    );
    await Promise.all(devices);
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - t) / 1000;
  const bytes = running.bytes();
  return { seconds: seconds / rounds, perDevice: sent / n / rounds, in: bytes.in / rounds, out: bytes.out / rounds };
}

console.log(`${n} devices, ${rounds} rounds, default MRFF on synthetic data (per round)`);
console.log("run     | wall s | bytes sent per device | coordinator in | coordinator out");
for (const secure of [false, true]) {
  const r = await run(secure);
  console.log(`${secure ? "secure" : "plain "}  | ${r.seconds.toFixed(2).padStart(6)} | ${Math.round(r.perDevice).toString().padStart(21)} | ${Math.round(r.in).toString().padStart(14)} | ${Math.round(r.out).toString().padStart(15)}`);
}
