// Bad messages get a SecAggError with a code and a message naming the client and field, and leave
// the round's state untouched (the correct message is still accepted afterwards): wrong lengths,
// unknown ids, replays, messages for another round or phase; and a client refuses what an
// inconsistent server sends it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SecAggClient } from "../src/federated/secagg/client.js";
import type { SecAggErrorCode } from "../src/federated/secagg/errors.js";
import type { KeyDirectory, ShareDelivery } from "../src/federated/secagg/messages.js";
import { SecAggServer } from "../src/federated/secagg/server.js";
import { seededRandom } from "./secagg-harness.js";

const IDS = [1, 2, 3, 4];
const params = { round: 5, threshold: 3, length: 8 };

function throwsCode(f: () => unknown, code: SecAggErrorCode, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e));
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a '${code}' error`);
}

async function rejectsCode(p: Promise<unknown>, code: SecAggErrorCode, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e));
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a '${code}' error`);
}

function setup(): { server: SecAggServer; clients: Map<number, SecAggClient> } {
  const server = new SecAggServer({ ...params, clients: IDS });
  const clients = new Map(IDS.map((id) => [id, new SecAggClient({ ...params, client: id, random: seededRandom(id) })]));
  return { server, clients };
}

async function toShares(): Promise<{ server: SecAggServer; clients: Map<number, SecAggClient>; directory: KeyDirectory }> {
  const { server, clients } = setup();
  for (const c of clients.values()) server.receiveAdvertise(await c.advertise());
  return { server, clients, directory: server.closeAdvertise() };
}

async function toMasked(): Promise<{ server: SecAggServer; clients: Map<number, SecAggClient>; deliveries: Map<number, ShareDelivery> }> {
  const { server, clients, directory } = await toShares();
  for (const c of clients.values()) server.receiveShares(await c.shareKeys(directory));
  return { server, clients, deliveries: server.closeShares() };
}

test("bad configuration is refused with the parameter named", () => {
  throwsCode(() => new SecAggServer({ ...params, threshold: 1, clients: IDS }), "bad-config", /threshold must be an integer >= 2/);
  throwsCode(() => new SecAggServer({ ...params, length: 0, clients: IDS }), "bad-config", /length must be/);
  throwsCode(() => new SecAggServer({ ...params, threshold: 5, clients: IDS }), "bad-config", /cohort of 4 clients cannot reach the threshold 5/);
  throwsCode(() => new SecAggServer({ ...params, clients: [1, 2, 2, 3] }), "bad-config", /lists a client twice/);
  throwsCode(() => new SecAggServer({ ...params, clients: [1, -2, 3] }), "bad-message", /clients\[1\]: client id must be/);
  throwsCode(() => new SecAggClient({ ...params, round: 1.5, client: 1 }), "bad-config", /round must be/);
});

test("AdvertiseKeys: wrong round, unknown id, wrong key length, replay, wrong phase", async () => {
  const { server, clients } = setup();
  const msg = await clients.get(1)!.advertise();
  throwsCode(() => server.receiveAdvertise({ ...msg, round: 4 }), "wrong-round", /message for round 4, this is round 5/);
  throwsCode(() => server.receiveAdvertise({ ...msg, client: 9 }), "unknown-client", /client 9 is not part/);
  throwsCode(() => server.receiveAdvertise({ ...msg, cPK: msg.cPK.subarray(1) }), "bad-message", /client 1: cPK: expected 32 bytes, got 31/);
  throwsCode(() => server.receiveMasked({ round: 5, client: 1, masked: new Uint32Array(8) }), "wrong-phase", /phase 'advertise', not 'masked'/);
  server.receiveAdvertise(msg); // the rejections above left no trace
  throwsCode(() => server.receiveAdvertise(msg), "duplicate", /client 1 already sent/);
  throwsCode(() => server.receiveAdvertise({ ...msg, client: 2 }), "duplicate", /repeats a key of client 1/);
});

test("ShareKeys: a share for an unknown client, a missing share, a wrong ciphertext length, a forged sender", async () => {
  const { server, clients, directory } = await toShares();
  const msg = await clients.get(2)!.shareKeys(directory);
  const [first, ...rest] = msg.shares;
  throwsCode(() => server.receiveShares({ ...msg, shares: rest }), "bad-message", /client 2: 2 shares for 3 other clients/);
  throwsCode(() => server.receiveShares({ ...msg, shares: [{ ...first!, to: 7 }, ...rest] }), "unknown-client", /shares\[0\] is for client 7/);
  throwsCode(() => server.receiveShares({ ...msg, shares: [{ ...first!, from: 3 }, ...rest] }), "bad-message", /shares\[0\] claims sender 3/);
  throwsCode(() => server.receiveShares({ ...msg, shares: [{ ...first!, ciphertext: first!.ciphertext.subarray(2) }, ...rest] }), "bad-message", /ciphertext: expected 82 bytes, got 80/);
  throwsCode(() => server.receiveShares({ ...msg, selfMaskCommitment: new Uint8Array(3) }), "bad-message", /selfMaskCommitment: expected 32 bytes/);
  throwsCode(() => server.receiveShares({ ...msg, shares: [null as unknown as typeof first, ...rest] }), "bad-message", /shares\[0\]: expected an object, got null/);
  throwsCode(() => server.receiveShares(null as unknown as typeof msg), "bad-message", /ShareKeys: expected an object, got null/);
  server.receiveShares(msg);
  throwsCode(() => server.receiveShares(msg), "duplicate", /client 2 already sent/);
});

test("MaskedInput: wrong length or type, unknown id, replay; UnmaskResponse: wrong owners, non-field share, non-survivor", async () => {
  const { server, clients, deliveries } = await toMasked();
  const x = new Uint32Array(8).fill(5);
  const msg = await clients.get(1)!.maskInput(deliveries.get(1)!, x);
  throwsCode(() => server.receiveMasked({ ...msg, masked: msg.masked.subarray(1) }), "bad-message", /client 1: expected a Uint32Array of 8 elements, got Uint32Array of 7/);
  throwsCode(() => server.receiveMasked({ ...msg, masked: new Float32Array(8) as unknown as Uint32Array }), "bad-message", /got Float32Array/);
  throwsCode(() => server.receiveMasked({ ...msg, client: 6 }), "unknown-client", /client 6/);
  server.receiveMasked(msg);
  throwsCode(() => server.receiveMasked(msg), "duplicate", /already sent/);
  for (const id of [2, 3]) server.receiveMasked(await clients.get(id)!.maskInput(deliveries.get(id)!, x));
  const request = server.closeMasked();
  assert.equal(request, { round: 5, survivors: [1, 2, 3], dropped: [4] });
  const r = await clients.get(2)!.unmask(request);
  throwsCode(() => server.receiveUnmask({ ...r, client: 4 }), "unknown-client", /client 4 is not part of phase 'unmask'/);
  throwsCode(() => server.receiveUnmask({ ...r, selfMaskShares: r.selfMaskShares.slice(1) }), "bad-message", /selfMaskShares: 2 shares for 3 clients/);
  throwsCode(() => server.receiveUnmask({ ...r, keyShares: [{ ...r.keyShares[0]!, owner: 3 }] }), "bad-message", /keyShares\[0\]: share of client 3, expected client 4/);
  throwsCode(() => server.receiveUnmask({ ...r, keyShares: [{ owner: 4, share: new Uint8Array(33).fill(255) }] }), "bad-message", /not a field element/);
  server.receiveUnmask(r);
  throwsCode(() => server.receiveUnmask(r), "duplicate", /already sent/);
  for (const id of [1, 3]) server.receiveUnmask(await clients.get(id)!.unmask(request));
  assert.equal(server.progress, { advertised: 4, shared: 4, masked: 3, unmasked: 3 });
  const result = await server.finish();
  assert.equal(Array.from(result.sum), new Array(8).fill(15));
});

test("a client refuses an inconsistent directory, delivery or unmask request, and then stays aborted", async () => {
  const { clients, directory } = await toShares();
  const c1 = clients.get(1)!;
  await rejectsCode(c1.shareKeys({ ...directory, clients: directory.clients.filter((k) => k.client !== 1) }), "bad-message", /client 1's own keys are missing/);
  await rejectsCode(c1.shareKeys(directory), "aborted", /cannot run phase 'share' now \(phase 'aborted'\)/);
  const c2 = clients.get(2)!;
  await rejectsCode(c2.shareKeys({ ...directory, clients: directory.clients.slice(1, 3) }), "below-threshold", /2 clients, fewer than the threshold 3/);
  const c3 = clients.get(3)!;
  const dup = directory.clients.map((k) => (k.client === 4 ? { ...k, sPK: directory.clients[0]!.sPK } : k));
  await rejectsCode(c3.shareKeys({ ...directory, clients: dup }), "bad-message", /client 4's sPK repeats another key/);

  const { server, clients: cs, deliveries } = await toMasked();
  const d1 = deliveries.get(1)!;
  await rejectsCode(cs.get(1)!.maskInput({ ...d1, shares: d1.shares.slice(1) }, new Uint32Array(8)), "bad-message", /2 shares for 3 other participants/);
  await rejectsCode(cs.get(2)!.maskInput(deliveries.get(2)!, new Uint32Array(7)), "bad-message", /expected a Uint32Array of 8 elements/);
  await rejectsCode(cs.get(3)!.maskInput(deliveries.get(4)!, new Uint32Array(8)), "bad-message", /addressed to client 4, this is client 3/);
  await rejectsCode(cs.get(1)!.maskInput(null as unknown as ShareDelivery, new Uint32Array(8)), "aborted", /phase 'aborted'/);
  const fresh = await toMasked();
  await rejectsCode(fresh.clients.get(1)!.maskInput(null as unknown as ShareDelivery, new Uint32Array(8)), "bad-message", /share delivery: expected an object, got null/);
  const c4 = cs.get(4)!;
  server.receiveMasked(await c4.maskInput(deliveries.get(4)!, new Uint32Array(8)));
  // asking for b shares of client 2 AND s^SK shares of client 2 would unmask its input
  await rejectsCode(c4.unmask({ round: 5, survivors: [1, 2, 4], dropped: [2, 3] }), "bad-message", /dropped must be exactly the participants that are no survivors \(3\)/);
  await rejectsCode(c4.unmask({ round: 5, survivors: [1, 2, 3, 4], dropped: [] }), "aborted", /phase 'aborted'/);
});

test("a client answers each phase once: a replayed request is refused", async () => {
  const { server, clients, deliveries } = await toMasked();
  for (const [id, c] of clients) server.receiveMasked(await c.maskInput(deliveries.get(id)!, new Uint32Array(8)));
  const request = server.closeMasked();
  const c1 = clients.get(1)!;
  await c1.unmask(request);
  await rejectsCode(c1.unmask(request), "wrong-phase", /cannot run phase 'unmask' now \(phase 'done'\)/);
  await rejectsCode(c1.advertise(), "wrong-phase", /phase 'advertise'/);
});

test("a share sealed for another pair fails authentication at the recipient", async () => {
  const { server, clients, deliveries } = await toMasked();
  const d1 = deliveries.get(1)!;
  // the server swaps two sealed shares' sender labels: AES-GCM's associated data no longer matches
  const [a, b, ...rest] = d1.shares;
  const swapped = { ...d1, shares: [{ ...a!, iv: b!.iv, ciphertext: b!.ciphertext }, { ...b!, iv: a!.iv, ciphertext: a!.ciphertext }, ...rest] };
  const c1 = clients.get(1)!;
  server.receiveMasked(await c1.maskInput(swapped, new Uint32Array(8)));
  for (const id of [2, 3]) server.receiveMasked(await clients.get(id)!.maskInput(deliveries.get(id)!, new Uint32Array(8)));
  await rejectsCode(c1.unmask(server.closeMasked()), "bad-share", /client 1: the share sealed by client \d fails authentication/);
});

test.run();
