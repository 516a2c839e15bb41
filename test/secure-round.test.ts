// SecureRound (the coordinator's phase driver, no transport) with in-process SecAggClients and a
// hand-moved clock: phases close when everyone answered or at their deadline; every malformed, late,
// duplicate, foreign or out-of-phase message is an ApiError with a 4xx status and leaves the
// protocol's progress as it was; the sum is the plain sum of the inputs mod 2^32.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ApiError } from "../src/federated/coordinator/errors.js";
import { SecureRound } from "../src/federated/coordinator/secure-round.js";
import {
  messageToJson,
  parseKeyDirectory,
  parseShareDelivery,
  parseUnmaskRequest,
  SecAggClient,
} from "../src/federated/secagg/index.js";
import { encodeFrame } from "../src/federated/wire/index.js";

const SESSION = 77;
const LENGTH = 12;
const cohort = [1, 2, 3];

function setup() {
  let now = 0;
  const round = new SecureRound({ session: SESSION, cohort, threshold: 2, length: LENGTH, phaseMs: 1000, now: () => now });
  const clients = new Map(cohort.map((id) => [id, new SecAggClient({ round: SESSION, threshold: 2, length: LENGTH, client: id })]));
  const inputs = new Map(cohort.map((id) => [id, Uint32Array.from({ length: LENGTH }, (_, j) => (id * 1000 + j * 7919) >>> 0)]));
  return { round, clients, inputs, tick: (ms: number) => (now += ms) };
}

const maskedFrame = (values: Uint32Array, session = SESSION) =>
  encodeFrame({ type: "masked", round: session, partitions: [{ name: "masked", encoding: "u32", length: values.length, values }] });

/** Throws an ApiError of `status` and `code`, and the protocol's progress stays as it was. */
function refused(round: SecureRound, f: () => unknown, status: number, code: string) {
  const before = JSON.stringify([round.server.phase, round.server.progress]);
  assert.throws(f, (e: unknown) => e instanceof ApiError && e.status === status && e.code === code, `${status} ${code}`);
  assert.is(JSON.stringify([round.server.phase, round.server.progress]), before);
}

const body = (p: { ready: boolean; body?: string }) => {
  assert.ok(p.ready);
  return (p as { body: string }).body;
};

test("a full secure round: refusals are 4xx and change nothing; the sum is the plain sum of the inputs", async () => {
  const { round, clients, inputs } = setup();
  const adverts = new Map<number, string>();
  for (const [id, c] of clients) adverts.set(id, messageToJson(await c.advertise()));
  refused(round, () => round.advertise(1, "{not json"), 400, "bad-message");
  refused(round, () => round.advertise(1, adverts.get(2)!), 400, "bad-message"); // claims another sender
  refused(round, () => round.advertise(9, adverts.get(1)!.replace('"client":1', '"client":9')), 403, "not-selected");
  refused(round, () => round.maskedInput(1, maskedFrame(inputs.get(1)!)), 409, "wrong-phase");
  assert.is(round.advertise(1, adverts.get(1)!), "waiting");
  refused(round, () => round.advertise(1, adverts.get(1)!), 409, "duplicate");
  assert.is(round.keyDirectory(1).ready, false);
  assert.ok(round.wantsTaskFrom(2) && !round.wantsTaskFrom(1));
  round.advertise(2, adverts.get(2)!);
  round.advertise(3, adverts.get(3)!);
  // everyone advertised: the directory is out
  const shares = new Map<number, string>();
  for (const [id, c] of clients) shares.set(id, messageToJson(await c.shareKeys(parseKeyDirectory(body(round.keyDirectory(id))))));
  refused(round, () => round.advertise(3, adverts.get(3)!), 409, "wrong-phase");
  for (const id of cohort) round.shareKeys(id, shares.get(id)!);
  const masked = new Map<number, Uint32Array>();
  for (const [id, c] of clients) masked.set(id, (await c.maskInput(parseShareDelivery(body(round.shareDelivery(id))), inputs.get(id)!)).masked);
  const good = maskedFrame(masked.get(1)!);
  const badCrc = good.slice();
  badCrc[badCrc.length - 1]! ^= 1;
  refused(round, () => round.maskedInput(1, badCrc), 400, "bad-crc");
  refused(round, () => round.maskedInput(1, good.subarray(0, 20)), 400, "truncated");
  refused(round, () => round.maskedInput(1, maskedFrame(masked.get(1)!, SESSION + 1)), 409, "round-closed");
  refused(round, () => round.maskedInput(1, maskedFrame(masked.get(1)!.subarray(1))), 400, "bad-message");
  const wrongName = encodeFrame({ type: "masked", round: SESSION, partitions: [{ name: "shared", encoding: "u32", length: LENGTH, values: masked.get(1)! }] });
  refused(round, () => round.maskedInput(1, wrongName), 400, "bad-partition");
  const asUpdate = encodeFrame({ type: "update", round: SESSION, partitions: [{ name: "masked", encoding: "u32", length: LENGTH, values: masked.get(1)! }] });
  refused(round, () => round.maskedInput(1, asUpdate), 400, "bad-type");
  // a well-formed frame still has to carry u32 values
  const f32 = encodeFrame({ type: "masked", round: SESSION, partitions: [{ name: "masked", encoding: "f32", length: LENGTH, values: new Float32Array(LENGTH) }] });
  refused(round, () => round.maskedInput(1, f32), 400, "bad-partition");
  for (const id of cohort) round.maskedInput(id, maskedFrame(masked.get(id)!));
  refused(round, () => round.maskedInput(2, maskedFrame(masked.get(2)!)), 409, "wrong-phase");
  const responses = new Map<number, string>();
  for (const [id, c] of clients) responses.set(id, messageToJson(await c.unmask(parseUnmaskRequest(body(round.unmaskRequest(id))))));
  assert.is(round.unmask(1, responses.get(1)!), "waiting");
  refused(round, () => round.unmask(1, responses.get(1)!), 409, "duplicate");
  round.unmask(2, responses.get(2)!);
  assert.is(round.unmask(3, responses.get(3)!), "finish");
  const result = await round.finish();
  const plain = new Uint32Array(LENGTH);
  for (const x of inputs.values()) for (let j = 0; j < LENGTH; j++) plain[j] = plain[j]! + x[j]!;
  assert.equal(result.sum, plain);
  assert.equal(result.survivors, cohort);
});

test("phases close at their deadline with whoever answered; below the threshold the attempt aborts and refuses everyone", async () => {
  const { round, clients, tick } = setup();
  round.advertise(1, messageToJson(await clients.get(1)!.advertise()));
  round.advertise(2, messageToJson(await clients.get(2)!.advertise()));
  assert.is(round.progress(), "waiting");
  tick(1000);
  // two of three at the deadline: the directory goes out without client 3
  assert.is(round.progress(), "waiting");
  const dir = parseKeyDirectory(body(round.keyDirectory(1)));
  assert.equal(dir.clients.map((k) => k.client), [1, 2]);
  assert.throws(() => round.keyDirectory(3), (e: unknown) => e instanceof ApiError && e.status === 403);
  round.shareKeys(1, messageToJson(await clients.get(1)!.shareKeys(dir)));
  tick(1000);
  // one of two shared by the deadline: fewer than the threshold
  assert.is(round.progress(), "aborted");
  assert.match(round.abortReason, /below-threshold/);
  assert.throws(() => round.shareDelivery(1), (e: unknown) => e instanceof ApiError && e.status === 409 && e.code === "round-closed");
});

test.run();
