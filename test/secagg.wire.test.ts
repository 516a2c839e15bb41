// Masked inputs travel in the wire format as NET-API.md plans: a frame of type "masked" with one
// u32 partition; the coordinator takes the client id from the request and the vector from the
// frame. The round's sum is exact through encode/decode, and a frame cut short is a WireError
// before anything reaches the server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { MaskedInput } from "../src/federated/secagg/messages.js";
import { decodeFrame, encodeFrame, WireError } from "../src/federated/wire/index.js";
import { plainSum, randomInputs, runRound } from "./secagg-harness.js";

const IDS = [1, 2, 3, 4, 5];

function toFrame(m: MaskedInput): Uint8Array {
  return encodeFrame({ type: "masked", round: m.round, partitions: [{ name: "masked", encoding: "u32", length: m.masked.length, values: m.masked }] });
}

function fromFrame(bytes: Uint8Array, client: number): MaskedInput {
  const frame = decodeFrame(bytes);
  const part = frame.partitions.find((p) => p.name === "masked");
  if (frame.type !== "masked" || !part || !(part.values instanceof Uint32Array)) throw new Error(`not a masked-input frame: ${frame.type}`);
  return { round: frame.round, client, masked: part.values };
}

test("masked inputs through wire frames (type masked, u32 encoding): the exact sum", async () => {
  const inputs = randomInputs(IDS, 1001, 9);
  let bytes = 0;
  const carryMasked = (m: MaskedInput) => {
    const frame = toFrame(m);
    bytes = frame.length;
    return fromFrame(frame, m.client);
  };
  const { result } = await runRound({ ids: IDS, threshold: 3, inputs, dropBeforeMask: [4], carryMasked });
  assert.equal(Array.from(result.sum), Array.from(plainSum(inputs, [1, 2, 3, 5])));
  assert.ok(bytes >= 4 * 1001 && bytes < 4 * 1001 + 64, `a frame of ${bytes} bytes for 1001 u32 values`);
});

test("a masked-input frame cut short is refused by the wire decoder", async () => {
  const frame = toFrame({ round: 2, client: 1, masked: new Uint32Array(16).fill(7) });
  assert.throws(() => fromFrame(frame.subarray(0, frame.length - 5), 1), (e: unknown) => e instanceof WireError);
});

test.run();
