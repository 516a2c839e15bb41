// Secure-aggregation cost per phase: n clients × L-element vectors, all in one process, clients run
// one after another (so a client's figure is what one device spends) and the server's calls timed
// apart. Prints wall and CPU milliseconds (CPU includes WebCrypto's worker threads) per phase: the
// mean over clients for client phases, the total for server calls.
//   node dist/bench/secagg.js [clients=100] [length=42000] [dropBeforeMask=10] [dropAfterMask=0]
import { SecAggClient } from "../src/federated/secagg/client.js";
import { defaultThreshold } from "../src/federated/secagg/params.js";
import { SecAggServer } from "../src/federated/secagg/server.js";
import { benchPositionals } from "./bench-args.js";

const { clients: n, length, dropBeforeMask: dropBefore, dropAfterMask: dropAfter } = benchPositionals({ clients: 100, length: 42000, dropBeforeMask: 10, dropAfterMask: 0 });
const threshold = defaultThreshold(n);
const ids = Array.from({ length: n }, (_, i) => i);
const params = { round: 1, threshold, length };
const server = new SecAggServer({ ...params, clients: ids });
const clients = ids.map((client) => new SecAggClient({ ...params, client }));
const inputs = ids.map((id) => Uint32Array.from({ length }, (_, i) => (id * 7919 + i) >>> 0));

const rows: [string, number, number][] = [];
async function timed<T>(label: string, per: number, f: () => Promise<T> | T): Promise<T> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const out = await f();
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  rows.push([label, wall / per, (used.user + used.system) / 1000 / per]);
  return out;
}
async function eachClient<T>(list: SecAggClient[], f: (c: SecAggClient) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const c of list) out.push(await f(c));
  return out;
}

const advertised = await timed("client advertise (per client)", n, () => eachClient(clients, (c) => c.advertise()));
const directory = await timed("server receive + close advertise", 1, () => {
  advertised.forEach((m) => server.receiveAdvertise(m));
  return server.closeAdvertise();
});
const shared = await timed("client shareKeys (per client)", n, () => eachClient(clients, (c) => c.shareKeys(directory)));
const deliveries = await timed("server receive + close shares", 1, () => {
  shared.forEach((m) => server.receiveShares(m));
  return server.closeShares();
});
const masking = clients.slice(dropBefore);
const masked = await timed("client maskInput (per client)", masking.length, () => eachClient(masking, (c) => c.maskInput(deliveries.get(c.client)!, inputs[c.client]!)));
const request = await timed("server receive + close masked", 1, () => {
  masked.forEach((m) => server.receiveMasked(m));
  return server.closeMasked();
});
const responding = masking.slice(dropAfter);
const responses = await timed("client unmask (per client)", responding.length, () => eachClient(responding, (c) => c.unmask(request)));
const result = await timed("server receive unmask + finish", 1, async () => {
  responses.forEach((m) => server.receiveUnmask(m));
  return server.finish();
});
// check the sum, so that a fast wrong answer cannot pass for a figure
const want = new Uint32Array(length);
for (const id of result.survivors) for (let i = 0; i < length; i++) want[i] = want[i]! + inputs[id]![i]!;
if (!want.every((v, i) => v === result.sum[i])) throw new Error("bench: the unmasked sum is wrong");
console.log(`secure aggregation: n = ${n}, t = ${threshold}, length = ${length}, ${dropBefore} dropped before the masked input, ${dropAfter} after; sum verified`);
console.log(`upload per client: keys 64 B, shares ${shared[0]!.shares.length} × ${shared[0]!.shares[0]!.ciphertext.length + 12} B, masked ${4 * length} B, unmask ${responses[0]!.selfMaskShares.length + responses[0]!.keyShares.length} × 33 B`);
console.log("phase".padEnd(36) + "wall ms".padStart(10) + "cpu ms".padStart(10));
for (const [label, wall, cpu] of rows) console.log(label.padEnd(36) + wall.toFixed(1).padStart(10) + cpu.toFixed(1).padStart(10));
